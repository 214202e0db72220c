"""Antrian Paspor: the command line and the embedded runtime."""

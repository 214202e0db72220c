"""The rush simulator: a release of quota in high season, against the real gateway (and the conventional baseline)."""

from paspor.cli import app

app(prog_name="paspor")

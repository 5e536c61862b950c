from lvsdctl.cli.main import run

run()

# The two commands of the quick start: `make serve` and `make test`.
.PHONY: serve test lint format bench

serve:
	bash scripts/setup.sh
	.venv/bin/dockyard serve

test:
	bash scripts/setup.sh test
	bash scripts/services.sh
	bash scripts/chromium.sh
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/lint-imports
	.venv/bin/pytest

lint:
	.venv/bin/ruff check src tests bench

format:
	.venv/bin/ruff format src tests bench
	.venv/bin/ruff check --fix src tests bench

bench:
	.venv/bin/python -m bench.overhead
	.venv/bin/python -m bench.screen

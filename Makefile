# The two commands of the README, plus the slower suites. Every target sets itself up.
.PHONY: run test test-slow test-all bench demo lint screenshots

run:            ## start API (6060), dispatch (8005) and worker on embedded defaults
	bash scripts/run.sh

test:           ## lint, type-check and the bounded test set (SQLite; PostgreSQL too if AICS_TEST_POSTGRES_URL)
	bash scripts/test.sh

test-slow:      ## load, soak and fault tests only
	bash scripts/test.sh -m slow

test-all:       ## everything
	bash scripts/test.sh -m "slow or not slow"

bench:          ## benchmarks with ratios against their baselines
	bash -c 'source scripts/bootstrap.sh && "$$UV" run aics bench'

demo:
	bash -c 'source scripts/bootstrap.sh && "$$UV" run aics demo'

screenshots:    ## photograph every console page into docs/screenshots (Debian Chromium + Playwright)
	bash -c 'source scripts/bootstrap.sh && "$$UV" run python scripts/screenshots.py'

# The two commands a newcomer types: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench faults soak clean

install: $(STAMP)

# Editable install in "compat" mode: a PEP 660 editable install hides
# twisted/plugins/ from twistd's plugin scan (see DESIGN.md).
$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(STAMP)

# Runs the router with etc/ defaults (an embedded Redis under var/ unless
# etc/smpprouter.toml names one), as WORKERS processes sharing the listeners.
# Overrides for running several routers side by side on one Redis:
#   make run WORKERS=2 REDIS_URL=redis://127.0.0.1:6390/0 SMPP_LISTEN=tcp:2785:interface=127.0.0.1
WORKERS ?= 1
comma := ,
# make bench WORKERS=1,2: those worker counts (else e2e runs 1 and 2, bench.ab 1).
BENCH_WORKERS ?= $(if $(filter command line,$(origin WORKERS)),$(subst $(comma), ,$(WORKERS)),1 2)
AB_WORKERS ?= $(if $(filter command line,$(origin WORKERS)),$(subst $(comma), ,$(WORKERS)),1)
# taskset -c lists for bench.ab: e.g. make bench PIN_ROUTER=0 PIN_REDIS=1 PIN_SMSC=1 PIN_LOAD=1
AB_PIN := $(if $(PIN_ROUTER),--pin-router $(PIN_ROUTER)) $(if $(PIN_REDIS),--pin-redis \
	$(PIN_REDIS)) $(if $(PIN_SMSC),--pin-smsc $(PIN_SMSC)) $(if $(PIN_LOAD),--pin-load $(PIN_LOAD))
run: $(STAMP)
	$(BIN)/smpprouter run --config etc/smpprouter.toml --workers $(WORKERS) \
		$(if $(REDIS_URL),--redis-url $(REDIS_URL)) $(if $(SMPP_LISTEN),--listen $(SMPP_LISTEN)) \
		$(if $(HTTP_LISTEN),--http-listen $(HTTP_LISTEN))

test: $(STAMP)
	$(BIN)/trial $(TRIAL_ARGS) tests

# make bench BASELINE=<commit> [ROUNDS=3]: that commit (in a temporary git worktree) and
# the working tree alternately on the same loads (sync, store and forward, HTTP); their
# CPU per message, its ratio per round and median, in yardsticks (smpplib parsing a
# submit_sm), and Redis commands, bytes and CPU per message. Without BASELINE: the
# figures of today, then the same table for the working tree alone.
bench: $(STAMP)
ifdef BASELINE
	$(BIN)/python -m bench.ab --baseline $(BASELINE) $(if $(ROUNDS),--rounds $(ROUNDS)) \
		--workers $(AB_WORKERS) $(AB_PIN) $(AB_ARGS)
else
	$(BIN)/python -m bench.codec
	$(BIN)/python -m bench.store
	$(BIN)/python -m bench.e2e --workers $(BENCH_WORKERS) --metrics on,off $(E2E_ARGS)
	$(BIN)/python -m bench.http $(HTTP_ARGS)
	$(BIN)/python -m bench.ab $(if $(ROUNDS),--rounds $(ROUNDS)) --workers $(AB_WORKERS) \
		$(AB_PIN) $(AB_ARGS)
endif

# Whether a compiled build pays (bench.compiled): a copy of the tree with the hot modules
# compiled by Cython against the same code interpreted (BASELINE, default HEAD),
# alternately as make bench does; e.g. make bench-compiled ROUNDS=3 AB_ARGS="--paths sync".
# A measurement, not a build: it gave 0.95-1.00x CPU per message, too little (DESIGN.md).
.PHONY: bench-compiled
bench-compiled: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,compiled]' --config-settings editable_mode=compat
	$(BIN)/python -m bench.compiled $(if $(BASELINE),--baseline $(BASELINE)) \
		$(if $(ROUNDS),--rounds $(ROUNDS)) --workers $(AB_WORKERS) $(AB_PIN) $(AB_ARGS)

# Where the router's CPU goes under the sync load (py-spy if installed, else cProfile).
.PHONY: profile
profile: $(STAMP)
	$(BIN)/python -m bench.profile $(PROFILE_ARGS)

# An upstream that drops its binds, and Redis stopped for 5 s, under load: what the
# ESME was told, what reached the SMSC, and whether every receipt arrived.
faults: $(STAMP)
	$(BIN)/python -m bench.faults $(FAULTS_ARGS)

# Not in CI: 30 minutes at half the measured capacity, with receipts; RSS, descriptors,
# Redis memory and queue depths must stay flat. E.g. make soak SOAK_ARGS="--minutes 3
# --dlr-expiry 30 --every 30".
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) _trial_temp* build *.egg-info

# The simulated upstream SMSC the shipped config binds to (127.0.0.1:2776, router/secret);
# e.g. make smsc SMSC_ARGS="--receipt-bind other --receipt-id-format decimal".
.PHONY: smsc
smsc: $(STAMP)
	$(BIN)/python -m bench.smsc $(SMSC_ARGS)

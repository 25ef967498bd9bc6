package main

import "provision/engine"

// engineTuning, when set, adjusts the engine settings of every pipeline
// before the engine is built. Only the fault and crash tests set it: they
// shorten the idle timeout and the retry backoff so that a stall or an
// exhausted retry budget is seen in well under a second, instead of the
// production defaults of tens of seconds.
var engineTuning func(*engine.Config)

// tuneEngine returns cfg with engineTuning applied.
func tuneEngine(cfg engine.Config) engine.Config {
	if engineTuning != nil {
		engineTuning(&cfg)
	}
	return cfg
}

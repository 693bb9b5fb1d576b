//! The tee engine.

//! Talking to a person: whether a terminal is there, the menu, prompts.

pub mod confirm;

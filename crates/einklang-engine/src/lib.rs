//! einklang-engine (to be written).

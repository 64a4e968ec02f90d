//! Versioned, checksummed migrations shared by both backends (to be written).

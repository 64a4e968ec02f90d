//! File connectors: csv, jsonl, vcard (to be written).

//! DataCite Metadata Schema kernel-4: validation and XML <-> JSON conversion (pure code, no HTTP).

//! Syncs a built frontend folder to an S3 bucket by content hash.
//! (Being written: see docs/deploy.md.)

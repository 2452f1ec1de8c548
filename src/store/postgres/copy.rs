//! `storecredit copy --to`: a whole store copied into an empty PostgreSQL database.

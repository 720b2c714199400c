//! The integritas HTTP server.

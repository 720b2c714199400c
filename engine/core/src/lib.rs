//! integritas: runs integrity-plan workflows defined as data.
//!
//! Data flows one way: pack files → checked definitions ([`definition`]) →
//! a plan's events ([`store`]) → projections ([`projection`]) → what people
//! see. The engine knows no country; jurisdictions arrive as packs.

pub mod condition;
pub mod date;
pub mod deadline;
pub mod definition;
pub mod diagnostic;
pub mod engine;
pub mod error;
pub mod executor;
pub mod guard;
pub mod pack;
pub mod page;
pub mod plugin;
pub mod projection;
pub mod store;
pub mod summary;
pub mod wire;

#[cfg(test)]
mod fixtures;
pub mod language;
pub mod locale;
pub mod message;
pub mod open;
pub mod render;
pub mod ron_spans;
pub mod scenario;

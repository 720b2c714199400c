//! The hash chain that makes a plan's log tamper-evident: each event holds
//! the sha256 of the previous event's stored bytes.

use sha2::{Digest, Sha256};

use super::Event;

/// Lower-case hex sha256 of some bytes.
pub fn hash_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes).into())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of a digest, by table: a `format!` per byte costs more
/// than the hashing when a million events are verified.
pub(crate) fn hex_into(digest: &[u8; 32], out: &mut [u8; 64]) {
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
}

pub(crate) fn hex(digest: &[u8; 32]) -> String {
    let mut out = [0; 64];
    hex_into(digest, &mut out);
    out.iter().map(|&b| char::from(b)).collect()
}

/// The first place a plan's log (or the store) is not what it was when
/// written. `seq` 0 is about the plan's record itself; an empty `plan` is
/// about the store as a whole (an institution, the journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub plan: String,
    pub seq: u64,
    pub reason: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.plan.as_str(), self.seq) {
            ("", _) => write!(f, "store: {}", self.reason),
            (plan, 0) => write!(f, "plan {plan}: {}", self.reason),
            (plan, seq) => write!(f, "plan {plan}: event {seq}: {}", self.reason),
        }
    }
}

impl std::error::Error for BrokenLink {}

/// Checks a log's numbering and links; returns the number of events.
pub fn verify_chain(plan: &str, raw: &[Vec<u8>]) -> Result<u64, BrokenLink> {
    let mut prev = String::new();
    for (i, bytes) in raw.iter().enumerate() {
        let expected = i as u64 + 1;
        let broken = |reason: String| BrokenLink { plan: plan.to_string(), seq: expected, reason };
        let event: Event = serde_json::from_slice(bytes).map_err(|e| broken(format!("cannot be read: {e}")))?;
        if event.seq != expected {
            return Err(broken(format!("is numbered {}, expected {expected}", event.seq)));
        }
        if event.prev != prev {
            return Err(broken(format!(
                "links to {} but the previous event hashes to {}",
                short(&event.prev),
                short(&prev)
            )));
        }
        prev = hash_hex(bytes);
    }
    Ok(raw.len() as u64)
}

pub(crate) fn short(hash: &str) -> &str {
    if hash.is_empty() { "(nothing)" } else { hash.get(..12).unwrap_or(hash) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::event;

    fn chain(n: u64) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map(|b| hash_hex(b)).unwrap_or_default();
            out.push(event(seq, &prev, serde_json::json!({"n": seq})).to_bytes());
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain("p", &chain(5)), Ok(5));
    }

    #[test]
    fn names_the_first_broken_link() {
        let mut raw = chain(5);
        let tampered = String::from_utf8(raw[2].clone()).expect("utf8").replace("\"n\":3", "\"n\":4");
        raw[2] = tampered.into_bytes();
        let err = verify_chain("p", &raw).expect_err("tampering is detected");
        assert_eq!(err.seq, 4, "the event after the edited one no longer links: {err}");
        let mut raw = chain(5);
        raw.remove(1);
        assert_eq!(verify_chain("p", &raw).expect_err("gap").seq, 2);
    }
}

//! Checkers that judge a simulated run: Raft safety as it happens, linearizability of the
//! client history and liveness after the faults stop at the end.

pub mod linearizability;
mod raft_safety;
pub mod watch;

pub use raft_safety::RaftSafety;

#[cfg(test)]
mod tests;

/// A broken guarantee, found at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Virtual time it was found at, in ms.
    pub at_ms: u64,
    /// Which checker found it: `raft-safety`, `linearizability`, `liveness`.
    pub checker: &'static str,
    /// What was wrong.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {} ms: {}", self.checker, self.at_ms, self.detail)
    }
}

//! Requests the service makes to addresses its users gave it (webhook targets, push
//! services): where they may point, and a client that keeps to it.

pub mod sender;
pub mod target;

//! Identity and access (SPEC §2): tokens, passwords, sign-in throttling and the
//! [`Caller`] extractors every handler uses to state who may call it.

mod caller;
pub mod password;
pub mod refresh;
pub mod session;
pub mod throttle;
pub mod tokens;

pub use caller::{
    Authorized, Caller, Credential, GovAdminOnly, GovOnly, MaybeCaller, Policy, Role, Scope,
    Scopes, StatsReaders, Subject, UserManagers, signed_subject,
};
pub use session::SessionCheck;
pub use tokens::TokenKeys;

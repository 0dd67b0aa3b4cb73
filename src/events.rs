//! The domain events written to the outbox, as one list: the emitters take an
//! [`EventType`], and webhook subscriptions choose among the same names
//! ([`WebhookEvent`], which adds the `member.*` family). An event cannot be emitted
//! without being subscribable, nor offered without being emitted.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! event_types {
    ($($variant:ident = $name:tt,)*) => {
        /// An event written to the outbox with the change it describes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum EventType {
            $($variant,)*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The name deliveries carry in `type` (`report.created`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }
        }

        /// What a webhook subscription takes: one event type, or every `member.` event.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            ToSchema,
        )]
        pub enum WebhookEvent {
            $(#[serde(rename = $name)] $variant,)*
            /// Every `member.` event.
            #[serde(rename = "member.*")]
            AnyMember,
        }

        impl WebhookEvent {
            pub const ALL: &'static [WebhookEvent] =
                &[$(WebhookEvent::$variant,)* WebhookEvent::AnyMember];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(WebhookEvent::$variant => $name,)*
                    WebhookEvent::AnyMember => "member.*",
                }
            }
        }
    };
}

event_types! {
    ReportCreated = "report.created",
    ReportStatusChanged = "report.status_changed",
    ReportCommented = "report.commented",
    ReportOverdue = "report.overdue",
    BulletinPublished = "bulletin.published",
    BulletinArchived = "bulletin.archived",
    BulletinAcknowledged = "bulletin.acknowledged",
    KimCreated = "kim.created",
    KimUpdated = "kim.updated",
    KimStatusChanged = "kim.status_changed",
    MemberAdded = "member.added",
    MemberUpdated = "member.updated",
    MemberLeft = "member.left",
    UserCreated = "user.created",
    UserUpdated = "user.updated",
    SessionScheduled = "session.scheduled",
    ConsultationOpened = "consultation.opened",
    ConsultationConcluded = "consultation.concluded",
}

impl WebhookEvent {
    pub fn parse(text: &str) -> Option<WebhookEvent> {
        Self::ALL
            .iter()
            .copied()
            .find(|event| event.as_str() == text)
    }

    /// Whether an outbox event of type `event_type` is one this subscription takes.
    pub fn covers(self, event_type: &str) -> bool {
        match self {
            WebhookEvent::AnyMember => event_type.starts_with("member."),
            event => event.as_str() == event_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_is_subscribable_by_its_name() {
        for event in EventType::ALL {
            let subscribed = WebhookEvent::parse(event.as_str());
            assert!(
                subscribed.is_some_and(|s| s.covers(event.as_str())),
                "{}",
                event.as_str()
            );
        }
        assert_eq!(WebhookEvent::ALL.len(), EventType::ALL.len() + 1);
    }
}

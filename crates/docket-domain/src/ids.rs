//! Typed identifiers. Every id is a UUID on the wire; the newtype keeps them apart in code.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $ctor:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh identifier.
            pub fn new() -> Self {
                Self(Uuid::$ctor())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A workspace, the tenant.
    WorkspaceId, now_v7
);
uuid_id!(
    /// A member of a workspace.
    MemberId, now_v7
);
uuid_id!(
    /// An API token (the id, never the secret).
    TokenId, now_v7
);
uuid_id!(
    /// A request type, which owns a workflow.
    RequestTypeId, now_v7
);
uuid_id!(
    /// A request. UUIDv7, so ids sort by creation time.
    RequestId, now_v7
);
uuid_id!(
    /// A timeline event.
    EventId, now_v7
);
uuid_id!(
    /// A webhook subscription.
    WebhookId, now_v7
);
uuid_id!(
    /// One event's delivery to one webhook.
    DeliveryId, now_v7
);
uuid_id!(
    /// A stored file. UUIDv7, so ids sort by upload time.
    FileId, now_v7
);
uuid_id!(
    /// One requested item of one request.
    ItemId, now_v7
);
uuid_id!(
    /// One answer or upload to an item.
    SubmissionId, now_v7
);

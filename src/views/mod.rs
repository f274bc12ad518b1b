//! Pages and the small components they share. Each page reads the [`crate::live::LiveStore`]
//! from context; none opens a connection of its own.

pub mod announcer;
pub mod badge;
pub mod chart;
pub mod display;
pub mod feed;
pub mod format;
pub mod home;
pub mod jobs;
pub mod lights;
pub mod local_time;
pub mod memo;
pub mod monitor;
pub mod not_found;
pub mod notifications;
pub mod operator;
pub mod pause;
pub mod scores;
pub mod sparkline;
pub mod staleness;
pub mod stocks;
pub mod toasts;

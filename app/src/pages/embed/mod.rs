//! The embedded marketplace: pages shown inside the company's product, in an iframe.
//! Each is opened with `?token=<JWT>`; every link and form carries the token on (no
//! cookie), and `form` says which of the three embeddable forms the user is in:
//! `full` (the marketplace), `install` (one integration) or `auth` (only its
//! credentials). Nothing of the console shows here.

mod app;
mod frame;
mod home;
mod listing;

pub use app::EmbedAppPage;
pub use home::EmbedHomePage;
pub use listing::EmbedListingPage;

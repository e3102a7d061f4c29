//! Enrolment: how credentials join the rotation from outside — a completed Google sign-in, or
//! variables in the environment. Services the routes and start-up call; they sit above the actors
//! they message and the upstream calls they make, so no route function is called from elsewhere.

pub mod environment;
pub mod oauth_completion;

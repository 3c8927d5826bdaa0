//! The front door: what runs before a route is known, in order — admission (tollgate's per-IP
//! limit), the edge's body-size check, path normalisation, stage selection, HTTP API CORS preflight, and routing.
//! Each step either lets the request on or says why it stops; [`crate::gateway`] renders the
//! refusals with everything else.

pub(crate) mod admission;
pub(crate) mod cors;
pub(crate) mod edge;
pub(crate) mod path;
pub(crate) mod select;

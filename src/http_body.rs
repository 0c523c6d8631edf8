//! Reading response bodies from the network with a size limit.
//!
//! Graph pages, token endpoints and managed-identity endpoints are all outside the exporter's
//! control; a proxy or a broken server can send an endless body. Reading stops at the limit
//! instead of buffering whatever arrives.

use bytes::{Bytes, BytesMut};

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum BodyError {
    /// The body (or its announced `Content-Length`) is over the limit.
    TooLarge,
    /// The connection failed before the body ended.
    Broken(reqwest::Error),
}

/// Reads a body chunk by chunk and stops at `limit` bytes.
pub async fn read_limited(mut response: reqwest::Response, limit: u64) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Broken)? {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

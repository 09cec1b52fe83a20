//! One bound on the AWS requests a command has in flight.
//!
//! Reads fan out: a refresh sends every batch of every type at once, and a
//! 2,000-parameter stack is some 250 requests. AWS throttles per account and
//! API (SSM's GetParameters allows about 40 a second by default), so the
//! fan-out is bounded in one place, the HTTP client every SDK client shares:
//! a request waits for a permit before it is sent and gives it back when its
//! answer arrives. Retries and their backoff happen outside the permit.

use std::sync::Arc;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

/// Environment variable: the most AWS requests in flight at once.
pub const MAX_REQUESTS_ENV: &str = "GANTRY_MAX_REQUESTS";

/// The default bound: enough to keep every batch of a large stack's reads
/// in flight on a nearby region, few enough to stay under AWS's default
/// request rates for one account.
pub const DEFAULT_MAX_REQUESTS: usize = 64;

/// The bound from the environment, else the default. Zero or junk is the
/// default, not "unbounded" and not an error: it only tunes throughput.
pub fn max_requests() -> usize {
    std::env::var(MAX_REQUESTS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_REQUESTS)
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, proxy from
/// the environment), with at most `max` requests in flight across all the
/// clients that share it.
pub fn bounded_client(max: usize) -> SharedHttpClient {
    let inner = Builder::new().build_with_connector_fn(|settings, components| {
        let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    });
    SharedHttpClient::new(Bounded { inner, permits: Arc::new(Semaphore::new(max)) })
}

#[derive(Debug)]
struct Bounded {
    inner: SharedHttpClient,
    permits: Arc<Semaphore>,
}

impl HttpClient for Bounded {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(BoundedConnector { inner, permits: self.permits.clone() })
    }
}

#[derive(Debug)]
struct BoundedConnector {
    inner: SharedHttpConnector,
    permits: Arc<Semaphore>,
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let permits = self.permits.clone();
        HttpConnectorFuture::new(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = permits.acquire_owned().await.ok();
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_comes_from_the_environment_or_the_default() {
        // One test touches the variable, so no other test races it.
        std::env::set_var(MAX_REQUESTS_ENV, "7");
        assert_eq!(max_requests(), 7);
        for junk in ["0", "-3", "many", ""] {
            std::env::set_var(MAX_REQUESTS_ENV, junk);
            assert_eq!(max_requests(), DEFAULT_MAX_REQUESTS, "{junk:?}");
        }
        std::env::remove_var(MAX_REQUESTS_ENV);
        assert_eq!(max_requests(), DEFAULT_MAX_REQUESTS);
    }
}

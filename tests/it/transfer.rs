//! How responses travel: large bodies of known length keep `Content-Length` (no chunking).

use tinydoi::app::{Ctx, Handler};
use tinydoi::error::Error;
use tinydoi::http::request::Method;
use tinydoi::http::router::{Family, Params, Route};
use tinydoi::http::{Reply, Request};

use crate::support::{TestServer, FIXTURES};

const BIG: usize = 100 * 1024;

fn big(_: &Ctx, _: &Request, _: &Params) -> Result<Reply, Error> {
    Ok(Reply::text(200, "x".repeat(BIG)))
}

#[test]
fn a_large_body_is_sent_with_content_length_not_chunked() {
    let (config, dir) = TestServer::config(FIXTURES);
    let route = Route {
        method: Method::Get,
        pattern: "/test/big",
        family: Family::Rest,
        handler: big as Handler,
    };
    let s = TestServer::with_routes(config, dir, vec![route]);
    let r = s.get("/test/big").send().expect(200);
    assert_eq!(r.header("content-length"), Some(BIG.to_string().as_str()));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.body.len(), BIG);
}

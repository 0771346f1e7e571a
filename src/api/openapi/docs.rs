//! `GET /api/docs`: an HTML page that renders the OpenAPI document with Swagger UI (its assets
//! from `[openapi] ui_assets_url`: a CDN by default, or a local copy). The page itself needs no
//! token; it asks for a login first, gets a token from `/api/auth/get_tokens`, then fetches
//! `/api/openapi.json` with it and hands it to Swagger UI, so that "Try it out" sends it in the
//! `access_token` header. The token lives only in the page's memory.

use http::{header, HeaderValue, Response, StatusCode};

use crate::plumbing::{full, Body};

/// The page, loading Swagger UI from `assets` (validated by the config: no quotes, no `<`).
pub fn page(assets: &str) -> Response<Body> {
    let html = PAGE.replace("{assets}", assets);
    let mut response = Response::new(full(html));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>odoo-rest-proxy: REST API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<style>
  body { margin: 0; font-family: sans-serif; }
  #login { display: flex; flex-wrap: wrap; gap: .75em; align-items: end; padding: 1em 2em;
           background: #1f2a36; color: #fff; }
  #login h1 { font-size: 1.2em; margin: 0 1em 0 0; align-self: center; }
  #login label { display: flex; flex-direction: column; font-size: .85em; gap: .2em; }
  #login input { padding: .35em; }
  #login button { padding: .45em 1.2em; }
  #status { align-self: center; }
</style>
</head>
<body>
<form id="login">
  <h1>odoo-rest-proxy</h1>
  <label>Database <input name="db" id="db" required></label>
  <label>Login <input name="username" id="username" autocomplete="username" required></label>
  <label>Password <input type="password" name="password" id="password" autocomplete="current-password" required></label>
  <button type="submit" id="login-button">Log in</button>
  <span id="status" role="status">Log in to see the models this database serves.</span>
</form>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
(function () {
  "use strict";
  // The API's root, also behind a proxy that serves it under a prefix.
  var base = window.location.pathname.replace(/\/api\/docs\/?$/, "");
  var form = document.getElementById("login");
  var status = document.getElementById("status");
  var db = new URLSearchParams(window.location.search).get("db");
  if (db) { form.db.value = db; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    status.textContent = "Logging in...";
    fetch(base + "/api/auth/get_tokens", {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "omit"
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (!answer.ok || !answer.body.access_token) {
        throw new Error(answer.body.error_descrip || "the login failed");
      }
      form.password.value = "";
      show(answer.body.access_token);
    }).catch(function (error) {
      status.textContent = error.message;
    });
  });
  function show(token) {
    status.textContent = "Logged in: loading the API description...";
    var ui = window.SwaggerUIBundle({
      url: base + "/api/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      // The document and every "Try it out" call carry the token.
      requestInterceptor: function (request) {
        if (!request.headers["access_token"]) { request.headers["access_token"] = token; }
        return request;
      },
      onComplete: function () {
        ui.preauthorizeApiKey("access_token", token);
        status.textContent = "Logged in.";
      }
    });
  }
})();
</script>
</body>
</html>
"##;

// Starts Swagger UI on /docs with the app's own OpenAPI document. A file, not an inline
// script, so the docs page keeps a CSP without 'unsafe-inline' scripts (web/api_docs.py).
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null, // no badge fetched from another host
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});

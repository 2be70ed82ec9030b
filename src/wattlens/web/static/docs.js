// The offline API docs: Swagger UI from the vendored bundle, started from a same-origin script
// (the strict CSP allows no inline script), inside the wattlens page with its navigation.
(function () {
  "use strict";
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis]
  });
})();

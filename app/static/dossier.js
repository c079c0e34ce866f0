// 案件卷宗 page (app/templates/dossier.html): 打印卷宗 prints it. A file of its own, as the
// Content-Security-Policy runs no inline script or handler.
(function () {
  "use strict";
  const button = document.getElementById("print");
  if (button) button.addEventListener("click", () => window.print());
})();

// The call and task forms' file inputs: list what was chosen (photos as previews), and stop a
// submission whose files are too big before it is sent, so what was typed stays on the page.
(function () {
  "use strict";
  var box = document.getElementById("evidence-inputs");
  if (!box) { return; }
  var inputs = box.querySelectorAll("input[type=file]");
  var list = document.getElementById("ev-chosen");
  var error = document.getElementById("ev-error");
  var maxBytes = Number(box.dataset.maxBytes), maxRequest = Number(box.dataset.maxRequestBytes);

  function size(n) {
    if (n >= 1048576) { return (n / 1048576).toFixed(1) + " MB"; }
    if (n >= 1024) { return (n / 1024).toFixed(1) + " KB"; }
    return n + " B";
  }

  function chosen() {
    var files = [];
    inputs.forEach(function (input) { Array.prototype.push.apply(files, input.files || []); });
    return files;
  }

  function problem(files) {
    var total = 0;
    for (var i = 0; i < files.length; i++) {
      total += files[i].size;
      if (files[i].size > maxBytes) { return "“" + files[i].name + "”超过单个文件上限 " + size(maxBytes); }
    }
    return total > maxRequest ? "所选文件合计 " + size(total) + "，超过一次上传的上限 " + size(maxRequest) : "";
  }

  function show() {
    var files = chosen();
    list.textContent = "";
    files.forEach(function (file) {
      var li = document.createElement("li");
      if (file.type.indexOf("image/") === 0) {
        var img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = file.name;
        li.appendChild(img);
      }
      var label = document.createElement("span");
      label.textContent = file.name + "（" + size(file.size) + "）";
      li.appendChild(label);
      list.appendChild(li);
    });
    var message = problem(files);
    error.textContent = message;
    error.hidden = !message;
  }

  inputs.forEach(function (input) { input.addEventListener("change", show); });
  var form = box.closest("form");
  if (form) {
    form.addEventListener("submit", function (event) {
      var message = problem(chosen());
      if (message) {
        event.preventDefault();
        error.textContent = message;
        error.hidden = false;
        error.scrollIntoView({ block: "center" });
      }
    });
  }
}());

// A file input shown as a Chinese button (label.button for a visually hidden input[type=file]) with the
// chosen file's name beside it (.file-picker-name): the browser's own control speaks its own language.
(function () {
  'use strict';
  function show(input) {
    var box = input.closest('.file-picker');
    var name = box && box.querySelector('.file-picker-name');
    if (!name) return;
    var files = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    name.textContent = files.length ? files.join('、') : '未选择文件';
    name.classList.remove('error');
    name.setAttribute('translate', files.length ? 'no' : 'yes');
    box.classList.toggle('file-picker-chosen', files.length > 0);
  }
  document.querySelectorAll('.file-picker input[type=file]').forEach(function (input) {
    input.addEventListener('change', function () { show(input); });
    // submitted without a file: say so here in Chinese, not in the browser's bubble (the input is hidden)
    input.addEventListener('invalid', function (event) {
      event.preventDefault();
      var name = input.closest('.file-picker').querySelector('.file-picker-name');
      if (name) {
        name.textContent = '请先选择流程文件';
        name.classList.add('error');
      }
      var label = document.querySelector('label[for="' + input.id + '"]');
      if (label) label.focus();
    });
    show(input);          // a name the browser kept after "back"
  });
}());

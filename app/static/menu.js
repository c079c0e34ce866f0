// The site menu on a phone: the header shows the brand, a 菜单 button and who is logged in; the
// button opens the navigation below. Loaded right after the header (not deferred) so the menu is
// folded before the page is first painted; without JavaScript the links simply stay visible.
(function () {
  var header = document.querySelector('header.top');
  var toggle = header && header.querySelector('.menu-toggle');
  if (!toggle) return;
  header.classList.add('js-menu');
  function setOpen(open) {
    header.classList.toggle('menu-open', open);
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  toggle.addEventListener('click', function () {
    setOpen(!header.classList.contains('menu-open'));
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && header.classList.contains('menu-open')) {
      setOpen(false);
      toggle.focus();
    }
  });
}());

// Small progressive enhancements; every page works without them.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches && target.matches("select[data-autosubmit]")) {
    target.form.submit();
  }
});

// A download behind a password (the bank file): the response sets the cookie the form names; when it
// arrives the password is cleared and the page named by data-done opens, saying what was downloaded.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var name = form.dataset && form.dataset.downloadCookie;
  if (!name) {
    return;
  }
  var tries = 0;
  var timer = window.setInterval(function () {
    var found = document.cookie.split("; ").filter(function (c) {
      return c.indexOf(name + "=") === 0;
    })[0];
    tries += 1;
    if (!found && tries < 240) {
      return;
    }
    window.clearInterval(timer);
    form.querySelectorAll("input[type=password]").forEach(function (input) {
      input.value = "";
    });
    if (found) {
      document.cookie = name + "=; max-age=0; path=/; samesite=strict";
      window.location.href = form.dataset.done + "?downloaded=" + encodeURIComponent(found.split("=")[1]);
    }
  }, 500);
});

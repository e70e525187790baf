// A voice note from the reply box: click the microphone to record (a timer runs), stop to hear it back, then send
// it or cancel. The recording (Opus, in OGG when the browser records it, else in WebM; the server puts it in OGG
// without re-encoding) goes in the form's hidden `voice` file field and the form is submitted as usual.
// The texts come from the widget's data-msg-* attributes (translated by the page).
(function () {
  "use strict";

  var TYPES = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus"];

  function supported() {
    return !!(window.MediaRecorder && navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.DataTransfer);
  }

  function recordingType() {
    for (var i = 0; i < TYPES.length; i++) {
      if (MediaRecorder.isTypeSupported(TYPES[i])) { return TYPES[i]; }
    }
    return "";
  }

  function part(widget, name) { return widget.querySelector("[data-voice-" + name + "]"); }

  function show(widget, names) {
    ["record", "timer", "stop", "preview", "send", "cancel"].forEach(function (name) {
      var el = part(widget, name);
      if (el) { el.hidden = names.indexOf(name) < 0; }
    });
  }

  function say(widget, key) {
    var note = part(widget, "error");
    note.textContent = key ? widget.getAttribute("data-msg-" + key) : "";
    note.hidden = !key;
  }

  function clock(ms) {
    var s = Math.floor(ms / 1000);
    var rest = s % 60;
    return Math.floor(s / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  // Everything a widget holds while recording or previewing; dropped on cancel or after sending.
  function reset(widget) {
    var state = widget._voice || {};
    if (state.timer) { clearInterval(state.timer); }
    if (state.stream) { state.stream.getTracks().forEach(function (t) { t.stop(); }); }
    if (state.url) { URL.revokeObjectURL(state.url); }
    widget._voice = {};
    var preview = part(widget, "preview");
    preview.removeAttribute("src");
    var field = widget.querySelector("input[type=file]");
    if (field) { field.value = ""; }
    show(widget, ["record"]);
  }

  function start(widget) {
    say(widget, "");
    var type = recordingType();
    if (!type) { say(widget, "failed"); return; }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      // 32 kbit/s is plenty for speech in Opus, and about two minutes fit in the 512 KB that WhatsApp still shows
      // with a play button (browsers default to 128 kbit/s).
      var recorder = new MediaRecorder(stream, { mimeType: type, audioBitsPerSecond: 32000 });
      var chunks = [];
      var began = Date.now();
      var state = { stream: stream, recorder: recorder, type: type };
      widget._voice = state;
      recorder.addEventListener("dataavailable", function (event) {
        if (event.data && event.data.size) { chunks.push(event.data); }
      });
      recorder.addEventListener("stop", function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        clearInterval(state.timer);
        if (state.cancelled) { return; }
        state.blob = new Blob(chunks, { type: type });
        state.url = URL.createObjectURL(state.blob);
        part(widget, "preview").src = state.url;
        show(widget, ["timer", "preview", "send", "cancel"]);
      });
      var timer = part(widget, "timer");
      timer.textContent = clock(0);
      state.timer = setInterval(function () { timer.textContent = clock(Date.now() - began); }, 250);
      recorder.start();
      show(widget, ["timer", "stop", "cancel"]);
    }).catch(function (error) {
      var name = error && error.name;
      if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
        say(widget, "denied");
      } else if (name === "NotFoundError" || name === "DevicesNotFoundError") {
        say(widget, "no-mic");
      } else {
        say(widget, "failed");
      }
      reset(widget);
    });
  }

  function send(widget) {
    var state = widget._voice || {};
    var form = widget.closest("form");
    var field = widget.querySelector("input[type=file]");
    if (!state.blob || !form || !field) { return; }
    var ext = state.type.indexOf("ogg") >= 0 ? "ogg" : "webm";
    var list = new DataTransfer();
    list.items.add(new File([state.blob], "audio." + ext, { type: state.type.split(";")[0] }));
    field.files = list.files;
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-voice] button");
    if (!button) { return; }
    var widget = button.closest("[data-voice]");
    if (button.hasAttribute("data-voice-record")) { start(widget); }
    else if (button.hasAttribute("data-voice-stop")) {
      var recorder = (widget._voice || {}).recorder;
      if (recorder && recorder.state !== "inactive") { recorder.stop(); }
    } else if (button.hasAttribute("data-voice-send")) { send(widget); }
    else if (button.hasAttribute("data-voice-cancel")) {
      var state = widget._voice || {};
      state.cancelled = true;
      if (state.recorder && state.recorder.state !== "inactive") { state.recorder.stop(); }
      reset(widget);
      say(widget, "");
    }
  });

  // The record button appears only where the browser can record (and on each reply box htmx swaps in).
  function reveal(root) {
    if (!supported()) { return; }
    Array.prototype.forEach.call((root || document).querySelectorAll("[data-voice]"), function (widget) {
      widget.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:load", function (event) { reveal(event.target); });
})();

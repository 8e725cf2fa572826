// synthgen review: keyboard actions; every save is shown as saved only after the server committed it.
"use strict";
(function () {
  const body = document.body;
  const token = body.dataset.token;
  const status = document.getElementById("status");
  const rejectForm = document.getElementById("reject");
  const editForm = document.getElementById("edit");
  let version = Number(body.dataset.version || 0);

  // Moves are relative to the item shown (after=KEY / before=KEY), so an item that a decision takes out of the
  // filter (decision=unreviewed) makes the next one skip nothing.
  function go(direction) {
    const position = Number(body.dataset.position) + direction;
    if (!body.dataset.key || position < 0 || position >= Number(body.dataset.count)) return false;
    const filters = body.dataset.filters ? "&" + body.dataset.filters : "";
    const move = (direction > 0 ? "&after=" : "&before=") + body.dataset.key;
    window.location.search = "?token=" + encodeURIComponent(token) + move + filters;
    return true;
  }
  function show(text, error) {
    status.textContent = text;
    status.className = error ? "error" : "";
  }
  async function save(payload) {
    show("saving…", false);
    const response = await fetch("api/decision?token=" + encodeURIComponent(token), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ key: Number(body.dataset.key), version: version }, payload)),
    });
    const data = await response.json();
    if (!response.ok) {
      show("not saved: " + data.error, true);
      return;
    }
    const decision = data.decision;
    version = decision.version;
    let text = decision.verdict;
    if (decision.reason) text += " · " + decision.reason;
    if (decision.note) text += " · " + decision.note;
    if (decision.edit_check) text += " · quote check: " + decision.edit_check;
    const shown = document.getElementById("decision");
    shown.textContent = text + " (version " + version + ")";
    shown.className = "decision " + decision.verdict;
    if (decision.query !== null) document.getElementById("question").textContent = decision.query;
    if (decision.answer !== null) document.getElementById("answer").textContent = decision.answer;
    document.getElementById("progress").textContent = data.progress;
    rejectForm.hidden = true;
    editForm.hidden = true;
    show("saved", false);
    // An accept or a reject moves on to the next item, which says what was saved; an edit stays to show its check.
    if (decision.verdict !== "edited") {
      sessionStorage.setItem("synthgen-saved", "saved: " + decision.qa_id + " " + text);
      if (!go(1)) sessionStorage.removeItem("synthgen-saved");  // the last item: it stays on the page
    }
  }
  const saved = sessionStorage.getItem("synthgen-saved");
  if (saved) { sessionStorage.removeItem("synthgen-saved"); show(saved, false); }
  if (rejectForm) {
    rejectForm.addEventListener("submit", function (event) {
      event.preventDefault();
      const chosen = rejectForm.querySelector("input[name=reason]:checked");
      if (!chosen) { show("choose a reason (1-6)", true); return; }
      save({ verdict: "rejected", reason: chosen.value, note: rejectForm.elements.note.value });
    });
    editForm.addEventListener("submit", function (event) {
      event.preventDefault();
      save({ verdict: "edited", query: editForm.elements.query.value, answer: editForm.elements.answer.value });
    });
  }
  document.addEventListener("keydown", function (event) {
    const typing = ["TEXTAREA", "INPUT", "SELECT"].includes(event.target.tagName) && event.target.type !== "radio";
    if (event.key === "Escape") {
      if (rejectForm) { rejectForm.hidden = true; editForm.hidden = true; }
      event.target.blur();
      return;
    }
    if (typing) {
      if (event.key === "Enter" && event.ctrlKey && editForm && !editForm.hidden) {
        event.preventDefault();
        editForm.requestSubmit();
      }
      return;
    }
    if (rejectForm && !rejectForm.hidden) {
      const reasons = rejectForm.querySelectorAll("input[name=reason]");
      const index = Number(event.key) - 1;
      if (index >= 0 && index < reasons.length) { reasons[index].checked = true; event.preventDefault(); return; }
      if (event.key === "Enter") { event.preventDefault(); rejectForm.requestSubmit(); return; }
    }
    if (!body.dataset.key && !["j", "k", "ArrowRight", "ArrowLeft"].includes(event.key)) return;
    switch (event.key) {
      case "j": case "ArrowRight": case "s": go(1); break;
      case "k": case "ArrowLeft": go(-1); break;
      case "a": save({ verdict: "accepted" }); break;
      case "r": editForm.hidden = true; rejectForm.hidden = false; show("reason: press 1-6, then Enter", false); break;
      case "e":
        rejectForm.hidden = true; editForm.hidden = false;
        editForm.elements.query.focus();
        event.preventDefault();
        break;
      default: return;
    }
  });
})();

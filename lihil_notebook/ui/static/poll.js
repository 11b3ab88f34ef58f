// PollTicker: while `active`, ask the kernel for pending updates every `interval_ms`. The kernel answers on its main
// thread (where the comm message is handled), which every front end delivers — Colab included, where widget
// updates made from other threads wait for the next interaction.
function render({ model, el }) {
  el.classList.add("lihil-poll-ticker");
  el.style.display = "none";
  let timer = null;
  const arm = () => {
    if (timer !== null) clearInterval(timer);
    timer = model.get("active") ? setInterval(() => model.send({ op: "poll" }), model.get("interval_ms")) : null;
    if (model.get("active")) model.send({ op: "poll" });
  };
  model.on("change:active", arm);
  model.on("change:interval_ms", arm);
  arm();
  return () => {
    if (timer !== null) clearInterval(timer);
    model.off("change:active", arm);
    model.off("change:interval_ms", arm);
  };
}

export default { render };

// Tells the server how much of a video or audio has actually been played, every tenth of it, once each per page.
// "Played" is the sum of the media's played ranges: skipping to the end plays only what was watched.
document.addEventListener("DOMContentLoaded", () => {
  const token = document.querySelector('meta[name="csrf-token"]');
  const step = 10;
  document.querySelectorAll("video[data-progress-url], audio[data-progress-url]").forEach((media) => {
    let reported = 0;  // the highest tenth the server has been told of
    let sending = false;
    const played = () => {
      let seconds = 0;
      for (let i = 0; i < media.played.length; i += 1) seconds += media.played.end(i) - media.played.start(i);
      return Math.min(100, Math.floor((seconds / media.duration) * 100 + 0.5));
    };
    const report = () => {
      if (sending || !(media.duration > 0) || !Number.isFinite(media.duration)) return;
      const reached = Math.floor(played() / step) * step;
      if (reached <= reported) return;
      sending = true;
      fetch(media.dataset.progressUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.content : "" },
        body: JSON.stringify({ percent: reached }),
      }).then((response) => { if (response.ok) reported = Math.max(reported, reached); })
        .catch(() => {})  // try again at the next update
        .finally(() => { sending = false; });
    };
    media.addEventListener("timeupdate", report);
    media.addEventListener("ended", report);
    media.addEventListener("pause", report);
  });
});

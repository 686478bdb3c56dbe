/* Beijing time in the browser: every time the pages format themselves is the instant in Asia/Shanghai,
   whatever zone the kiosk or the user's computer is set to (the server side is geo/beijing.py). */
(function () {
  "use strict";
  var ZONE = "Asia/Shanghai";
  var WEEK = ["日", "一", "二", "三", "四", "五", "六"];
  var WEEKDAY = {Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6};
  var fmt = new Intl.DateTimeFormat("en-CA", {
    timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", weekday: "short"
  });

  /* {year, month, day, hour, minute, second, weekday} of an instant (ms since epoch) in Beijing time. */
  function parts(ms) {
    var out = {};
    fmt.formatToParts(new Date(ms)).forEach(function (p) { out[p.type] = p.value; });
    return {year: out.year, month: out.month, day: out.day, hour: out.hour, minute: out.minute,
            second: out.second, weekday: WEEKDAY[out.weekday]};
  }

  function clock(ms) {
    var p = parts(ms);
    return p.year + "-" + p.month + "-" + p.day + " 星期" + WEEK[p.weekday] + " " + p.hour + ":" + p.minute + ":" +
      p.second;
  }

  function hm(ms) { var p = parts(ms); return p.hour + ":" + p.minute; }

  function minute(ms) { var p = parts(ms); return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute; }

  /* How long ago, in Chinese, from a difference in seconds. */
  function age(seconds) {
    if (seconds < 60) { return Math.max(0, seconds) + "秒前"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + "分钟前"; }
    if (seconds < 86400) { return Math.floor(seconds / 3600) + "小时前"; }
    return Math.floor(seconds / 86400) + "天前";
  }

  window.onemap = window.onemap || {};
  window.onemap.time = {zone: ZONE, parts: parts, clock: clock, hm: hm, minute: minute, age: age};
})();

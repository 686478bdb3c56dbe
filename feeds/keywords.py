"""Which notifiable disease a public-opinion text is about: disease names from the disease table plus
colloquial words and symptoms people write (流感, 拉肚子, 上吐下泻 …), longest match first."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

# Words people use in posts and news for a notifiable disease (disease code → words).
DISEASE_WORDS: dict[str, tuple[str, ...]] = {
    "influenza": ("流感", "甲流", "乙流", "流行性感冒"),
    "hpai": ("禽流感", "H7N9", "H5N1"),
    "covid19": ("新冠", "新型冠状病毒"),
    "diarrhoea": ("腹泻", "拉肚子", "上吐下泻", "呕吐", "诺如", "诺如病毒", "肠胃炎", "胃肠炎"),
    "hfmd": ("手足口",),
    "scarlet_fever": ("猩红热",),
    "measles": ("麻疹",),
    "mumps": ("腮腺炎",),
    "rubella": ("风疹",),
    "pertussis": ("百日咳",),
    "dengue": ("登革热",),
    "tb": ("肺结核", "结核"),
    "cholera": ("霍乱",),
    "dysentery": ("痢疾",),
    "typhoid": ("伤寒",),
    "ahc": ("红眼病", "结膜炎"),
    "hbv": ("乙肝",),
    "sars": ("非典",),
    "pneumonia_unknown": ("不明原因肺炎",),
    "anthrax_pulm": ("炭疽",),
    "plague": ("鼠疫",),
}


@dataclass(frozen=True)
class DiseaseMatch:
    disease_code: str
    word: str


class DiseaseLexicon:
    """Disease names (from the disease table) and the word list, restricted to diseases that exist."""

    def __init__(self, words: dict[str, str]) -> None:
        self.words = words  # word → disease code
        self._order = sorted(words, key=lambda w: (-len(w), w))

    @classmethod
    def load(cls, session: Session) -> DiseaseLexicon:
        rows = session.execute(text("SELECT code, name FROM disease")).all()
        known = {r.code for r in rows}
        words: dict[str, str] = {}
        for code, names in DISEASE_WORDS.items():
            if code in known:
                for w in names:
                    words.setdefault(w, code)
        for r in rows:
            words.setdefault(r.name, r.code)
        return cls(words)

    def match(self, *texts: str | None) -> DiseaseMatch | None:
        """The disease of the longest disease word found in the texts (searched together), or None."""
        joined = " ".join(t for t in texts if t)
        upper = joined.upper()
        for word in self._order:
            if word.upper() in upper:
                return DiseaseMatch(self.words[word], word)
        return None

"""Password strength beyond length: zxcvbn's estimate of how many guesses a password takes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from zxcvbn import zxcvbn

# Words zxcvbn's English dictionaries do not know but a guesser of Chinese passwords tries first: pinyin
# names and phrases, the bureau's own words and places. Matched as dictionary words, so `Zhangsan1990!` counts
# as a name and a year.
CHINESE_WORDS = [
    "woaini",
    "wohenni",
    "aini",
    "woaiwojia",
    "zhangsan",
    "lisi",
    "wangwu",
    "zhaoliu",
    "liuliu",
    "zhang",
    "wang",
    "li",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "zhou",
    "wu",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
    "he",
    "lin",
    "luo",
    "gao",
    "zheng",
    "liang",
    "xie",
    "song",
    "tang",
    "han",
    "feng",
    "deng",
    "cao",
    "peng",
    "zeng",
    "xiao",
    "tian",
    "dong",
    "pan",
    "yuan",
    "cai",
    "jiang",
    "yu",
    "du",
    "ye",
    "cheng",
    "wei",
    "su",
    "lv",
    "ding",
    "ren",
    "shen",
    "yao",
    "lu",
    "zhong",
    "cui",
    "tan",
    "kong",
    "qiu",
    "qin",
    "jiaoyu",
    "jiaoyuju",
    "jyj",
    "jiaotiju",
    "xuexiao",
    "xiaozhang",
    "laoshi",
    "xuesheng",
    "zizhu",
    "kongchuo",
    "yingyang",
    "xiangzhen",
    "ningdu",
    "ganzhou",
    "jiangxi",
    "jianshi",
    "xiji",
    "pengshui",
    "meixian",
    "zhongguo",
    "beijing",
    "shanghai",
    "admin",
    "root",
    "mima",
    "qwer",
    "asdf",
    "zxcv",
    "aaaa",
    "abc",
    "abcd",
    "jiayou",
    "kuaile",
    "xingfu",
    "tianshi",
    "baobei",
]


class StrengthValidator:
    """Refuses passwords zxcvbn thinks take fewer than 10^`min_guesses_log10` guesses: repeats, keyboard
    rows, a word or a pinyin name with digits and a sign.

    Django's validators count characters and look words up in a list; `Aaaaaaaaaaaa`, `Password1234` or
    `Admin@123456` pass them and fall to a guesser in seconds.
    """

    def __init__(self, min_guesses_log10: float = 10):
        self.min_guesses_log10 = min_guesses_log10

    def validate(self, password: str, user=None) -> None:
        # zxcvbn's time grows with length; nobody types a password this long, and it is refused elsewhere.
        own = [v for v in (getattr(user, "username", ""), getattr(user, "first_name", "")) if v]
        result = zxcvbn(password[:128], user_inputs=[*own, *CHINESE_WORDS])
        if result["guesses_log10"] < self.min_guesses_log10:
            raise ValidationError(
                _(
                    "This password is too easy to guess (repeated characters, a keyboard row, or a common word "
                    "with digits). Use a longer phrase of several unrelated words, digits and signs."
                ),
                code="password_too_weak",
            )

    def get_help_text(self) -> str:
        return _("Your password must not be easy to guess: use a phrase of several unrelated words.")

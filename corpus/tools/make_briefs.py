#!/usr/bin/env python3
"""Write the author briefs (corpus/briefs/aNN.md): one persona, lender, region, register and focus each.

Deterministic: the briefs are part of each row's provenance.
"""
from pathlib import Path

PERSONAS = [
    ("a retired collector of 15 years who trained new hires at a card centre", "银行信用卡中心"),
    ("a QA (质检) reviewer who listens to 300 recorded calls a week", "消费金融公司"),
    ("a compliance lawyer who handled complaints against collection agencies", "第三方催收外包公司"),
    ("a journalist who reported on violent collection in small cities", "小额贷款公司"),
    ("a sociolinguistics graduate student who transcribes call-centre speech", "网贷平台（助贷）"),
    ("a former outsourced collector who quit after a complaint", "第三方催收外包公司"),
    ("a bank branch manager who handles walk-in complaints", "城市商业银行"),
    ("a customer-service trainer writing role-play scripts", "汽车金融公司"),
    ("a debtor-support volunteer who reads debtors' forum posts", "网贷平台"),
    ("a speech-recognition engineer who knows ASR errors", "消费金融公司"),
    ("a home-visit (外访) team lead", "银行信用卡中心"),
    ("a regulator's complaint-desk clerk", "农村商业银行"),
    ("a screenwriter researching a TV drama about debt", "民间借贷中介"),
    ("a social worker in a county town", "村镇银行"),
    ("an SMS template writer at a collection agency", "第三方催收外包公司"),
    ("a WeChat customer-service operator", "电商分期平台"),
]
REGIONS = [
    ("Guangdong/Hong Kong", "dialect-yue", "Cantonese (粤语) words and particles: 咩, 唔, 嘅, 咗, 佢, 乜, 冇, 揾, 睇, 畀, 係"),
    ("Sichuan/Chongqing", "dialect-chuanyu", "川渝 words: 啥子, 咋个, 晓得, 莫得, 巴适, 锤子, 瓜娃子, 摆龙门阵, 嘛"),
    ("Northeast China", "dialect-dongbei", "东北 words: 嘎哈, 咋整, 整, 唠嗑, 埋汰, 磨叽, 老铁, 贼, 嘚瑟, 瞅"),
    ("Shanghai/Zhejiang", "dialect-hu", "沪语 words: 侬, 阿拉, 伊, 啥, 覅, 晓得伐, 老, 额, 搿, 勿"),
    ("Shaanxi/Gansu", "dialect-xibei", "西北 words: 咋, 额, 么, 嫑, 谝, 瓷马二楞, 碎娃, 得是, 克"),
    ("Beijing", "asr", "Beijing colloquial: 您呐, 甭, 得嘞, 忒, 丫, 倍儿, 麻溜儿"),
    ("Taiwan / overseas Chinese", "traditional", "traditional characters (繁體字) throughout these rows"),
    ("Henan/Hubei", "asr", "central-China colloquial: 中不中, 弄啥嘞, 冇得, 搞么事"),
]
REGISTERS = {
    "asr": "speech-to-text of phone calls: no punctuation or wrong punctuation, fillers (嗯 啊 那个 就是说 对吧), "
           "repeated words, cut-off words, homophone errors (在/再, 帐/账, 还/换, 以经, 那/哪), digits as words",
    "sms": "SMS reminders and notices: signatures like 【某某金融】, links, short formal sentences, deadlines",
    "chat": "WeChat / app chat messages: short lines, colloquial, particles 哈 呗 嘛 呢, some emoji-like text ([微笑] [捂脸]), typos",
    "visit": "spoken turns during a home or workplace visit (外访), with neighbours, relatives, the security guard",
    "visit_note": "visit notes and call summaries the agent writes afterwards (外访记录/通话小结), third person, note style",
    "evasion": "evasive spellings: pinyin and initials (sb, cnm, nmsl, tmd), split characters (弓长, 亻尔), spaces and symbols "
               "inside words (傻 逼, 傻*逼), homophones (煞笔, 特么, 尼玛), full-width letters",
    "long": "long turns of 3-6 sentences: scripted explanations, where one clause violates (or, for clean rows, none does)",
    "plain": "ordinary written Chinese with normal punctuation",
}
FOCUS = [
    ["threat.violence", "insult.abuse"], ["sarcasm.mock_praise", "sarcasm.ridicule"],
    ["threat.legal_false", "threat.impersonation"], ["privacy.third_party_disclosure", "threat.exposure"],
    ["sarcasm.mock_respect", "insult.demeaning"], ["threat.harassment", "threat.family"],
    ["privacy.pii_exposure", "privacy.credential_request"], ["conduct.improper_payment", "conduct.private_channel"],
    ["conduct.dismiss_distress", "conduct.ignore_dispute"], ["insult.profanity", "sarcasm.ridicule"],
    ["threat.violence", "sarcasm.mock_praise"], ["threat.family", "insult.demeaning"],
]
DEBTORS = [
    "a delivery rider", "a nurse on night shifts", "a small noodle-shop owner", "a university student", "a retired teacher",
    "a truck driver", "a construction worker paid late", "a new mother on leave", "a livestreamer whose income collapsed",
    "a farmer after a bad harvest", "a laid-off factory worker", "a hairdresser", "a taxi driver", "a civil servant",
    "a migrant worker in a big city", "a divorced father of two", "a young office clerk with many loan apps",
    "a shop owner whose shop closed", "a man in hospital", "a woman caring for a sick parent", "an online gambler",
    "a programmer between jobs", "a tea-farm owner", "a bar owner", "a cleaner", "a security guard",
]
PRIMARY = ["asr", "sms", "chat", "visit", "visit_note", "evasion", "long", "plain"]


def brief(n: int) -> str:
    persona, lender = PERSONAS[n % len(PERSONAS)]
    region, reg_dialect, words = REGIONS[(n * 3) % len(REGIONS)]
    primary = PRIMARY[n % len(PRIMARY)] if n % 3 else reg_dialect
    if primary not in REGISTERS:
        rdesc = f"dialect speech from {region}: {words}"
    else:
        rdesc = REGISTERS[primary]
    focus = FOCUS[n % len(FOCUS)]
    debtors = [DEBTORS[(n * 5 + k * 7) % len(DEBTORS)] for k in range(6)]
    author = f"a{n + 1:02d}"
    return f"""# Brief {author}

- **Author id**: `{author}` (row ids `{author}-0001`…, file `corpus/raw/{author}.jsonl`)
- **You are** {persona}. You write the way the people you know talk.
- **Lender**: mostly a {lender}; invent its name and products. Debts from cards, cash loans,
  instalments, car or business loans, as fits.
- **Region**: {region}. Where it fits, people speak with {words}.
- **Primary register** (about 40% of your rows): `{primary}`: {rdesc}.
- **Focus subtypes** (your extra violation rows go here): {', '.join(f'`{f}`' for f in focus)}.
- **Debtors in your rows** include {', '.join(debtors)}; invent others.
- Rows: 600 (see the quotas in corpus/AUTHORING.md).
"""


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "briefs"
    out.mkdir(exist_ok=True)
    for n in range(40):
        (out / f"a{n + 1:02d}.md").write_text(brief(n), encoding="utf-8")


if __name__ == "__main__":
    main()

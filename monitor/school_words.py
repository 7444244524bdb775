"""The words of a school day that tell a bare, ambiguous school name ("Ankermoor") from the place.

Pure data, no logic: monitor.matching reads these lists. They hold for any primary school, so an
academy's own `context_words` only add to them. Each list is in English and in the languages
common in English school communities (Polish, Romanian, Welsh, romanised Urdu/Punjabi, and a few
words of Lithuanian, Somali, Portuguese and Spanish), written as people type them (with or without
diacritics: matching drops diacritics on both sides).
"""

from __future__ import annotations

__all__ = [
    "SCHOOL_FRAME_WORDS",
    "SCHOOL_PEOPLE",
    "SCHOOL_VERBS",
    "SCHOOL_THINGS_AFTER",
    "NAMESAKE_NOUNS_BEFORE",
    "SOFT_NAMESAKE_NOUNS",
    "PLACE_POSTPOSITIONS",
    "NOT_A_PLACE_PHRASES",
]

# School context anywhere in a short post, or near the name in a long one: the people, places,
# times and things of a school day.
SCHOOL_FRAME_WORDS: tuple[str, ...] = (
    # people
    "staff", "staffroom", "staff room", "office", "office manager", "receptionist",
    "dinner lady", "dinner ladies", "lunch supervisor", "lunchtime supervisor", "caretaker", "cleaner", "school cook", "lollipop lady", "lollipop man", "crossing patrol",
    "headmistress", "headmaster", "deputy", "governor", "governing body", "chair of governors",
    "business manager", "family support worker", "supply teacher", "SENCo",
    "PE lead", "maths lead", "class teacher", "teacher's", "teachers'", "pupil", "classmate",
    "classmates", "lanyard", "mums", "dads", "parent", "son", "sons", "daughter", "daughters",
    "DS", "DD", "kid", "child", "grandson", "granddaughter", "little one", "little man",
    # places and times
    "gates", "gate", "school gate", "playground", "yard", "field", "hall", "corridor", "kitchen",
    "canteen", "toilets", "peg", "pegs", "lost property", "pick up", "home time", "3.15",
    "3:15", "3.20", "8.40", "8.45", "8:45", "break time", "playtime", "lunchtime", "lunch",
    "lunchbox", "packed lunch", "dinners", "dinner times", "school dinners", "free school meals",
    "FSM", "snack time", "term time", "INSET", "attendance", "absence", "authorised",
    "unauthorised",
    # the school day and year
    "lesson", "lessons", "homework", "reading book", "reading folder", "reading scheme",
    "phonics", "spelling", "spellings", "spelling bee", "times tables", "SATs", "mock SATs",
    "choir", "assembly", "trip", "school trip", "residential", "fire drill", "library day",
    "world book day", "book fair", "non-uniform", "jumper day", "christmas jumper day",
    "summer fair", "christmas fair", "winter fair", "tombola", "fun run", "harvest festival",
    "nativity", "disco", "christmas concert",
    "swimming gala", "star of the week", "leavers", "newsletter", "detention", "detentions",
    "exclusion", "exclusions", "exclude", "excluded", "excludes", "expelled", "suspended",
    "suspension", "fixed term", "fixed-term", "isolation", "behaviour policy", "EHCP", "SEN",
    "safeguarding", "DBS", "single central record", "learning walk", "PPA",
    "Year 2 team", "nits", "headlice", "bullying", "bullied", "admissions", "cake sale",
    "wraparound", "intervention group", "worksheets", "quiz night", "food day",
    # uniform
    "uniform", "jumper", "jumpers", "cardigan", "blazer", "blazers", "hoodie", "hoodies",
    "PE kit", "PE", "book bag", "school shoes",
    # Polish
    "szkoła", "szkole", "szkoły", "szkołę", "szkolny", "szkolna", "klasie", "klasa", "klasy",
    "klasę", "nauczycielka", "nauczycielki", "nauczycielkę", "nauczyciel", "nauczyciele",
    "nauczycieli", "dzieci", "dziecko", "dziecka", "dyrektor", "dyrektorka", "dyrekcja",
    "kierowniczka", "asystentka", "mamy", "syn", "syna", "córka", "córki", "córce", "córkę",
    "mundurek", "mundurka", "mundurki", "lekcja", "lekcji", "lekcje", "wycieczka",
    "wycieczki", "świetlica", "stołówka", "recepcji", "bramie", "bramy", "wf", "uczeń",
    "uczniowie", "zebranie", "wywiadówka",
    # Romanian
    "școala", "școală", "scoala", "școlii", "scolii", "scoli", "clasa", "clasei", "copiii",
    "copilul", "copilului", "copiilor", "copii", "profesoara", "profesorul", "profesoarei",
    "profesori", "profesorii", "profa", "învățătoarea", "invatatoarea", "directoarea",
    "directorul", "fiul", "fiului", "fiica", "fiicei", "băiatul", "fetița", "uniforma",
    "uniformă", "cantina", "cantinei", "excursie", "excursia", "teme", "elev", "elevi",
    "părinți", "parintii", "poarta", "doamna", "doamnei", "biroul", "mese gratuite",
    "ora de iesire", "asistenta",
    # Welsh
    "ysgol", "plentyn", "athrawes", "athro", "athrawon", "pennaeth", "bennaeth",
    "dirprwy", "disgybl", "disgyblion", "cyngerdd", "dosbarth", "nosbarth", "blwyddyn",
    "flwyddyn", "mlwyddyn", "cinio", "amser chwarae", "buarth", "rhieni", "mamau",
    "derbynfa", "dderbynfa", "gwaith cartref", "prifathrawes", "prifathro", "ddisgybl",
    "lolipop", "rodziców", "kurs",
    # romanised Urdu/Punjabi (and Bangla)
    "bache", "bachay", "bacha", "bachi", "bachon", "bachiyan", "beta", "bete", "beti", "puttar",
    "munde", "ustad", "ustani", "chutti", "chele", "meye", "amar meye", "amar chele",
    # Lithuanian, Somali, Portuguese, Spanish
    "mokykla", "mokyklos", "mokykloje", "mokykla", "mokytoja", "mokytojai", "mokytojams",
    "direktorė", "klasės", "dugsi", "dugsiga", "fasalka", "macallin", "macallinka", "ardayga",
    "maamulaha", "escola", "escuela", "colegio", "niños", "vaikai", "profesor", "profesora",
    "professora",
)  # fmt: skip

# Just before "at/from/in the" + the name: a person of the school ("my son at Ankermoor",
# "everyone at ankermoor", "the kid from Ankermoor").
SCHOOL_PEOPLE: frozenset[str] = frozenset({
    "teacher", "teachers", "head", "headteacher", "headmistress", "headmaster", "deputy", "ta",
    "staff", "kid", "kids", "boy", "boys", "girl", "girls", "lad", "lads", "son", "sons",
    "daughter", "daughters", "dd", "ds", "nephew", "niece", "grandson", "granddaughter",
    "friend", "mum", "mums", "dad", "dads", "parent", "parents", "lady", "manager", "child",
    "children", "pupil", "pupils", "class", "team", "brother", "sister", "twins", "governor",
    "cleaner", "cook", "colleague", "colleagues", "everyone", "anyone", "someone", "somebody",
    "nobody", "people", "lot", "family", "families", "supervisor", "coach", "lead", "letter",
    "letters", "email",
})  # fmt: skip

# Just before "at/to/from/in" + the name: what people do at a school ("works at Ankermoor",
# "taught at", "goes to", "suspended from", "pulled my two out of").
SCHOOL_VERBS: frozenset[str] = frozenset({
    "work", "works", "worked", "working", "teach", "teaches", "taught", "teaching", "clean",
    "cleans", "goes", "go", "started", "starts", "starting", "excluded", "expelled",
    "suspended", "removed", "pulled", "collect", "collected", "volunteer", "volunteers",
    "volunteering", "ringing", "rang", "emailed", "told", "complained", "lucrez", "lucreaza",
    "pracuję", "pracuje", "dysgu",
})  # fmt: skip

# Right after the name (in the same clause): a thing of the school, so "in Ankermoor uniform",
# "the girls in Ankermoor year 6" and "the Ankermoor hall" are the school, not the place.
SCHOOL_THINGS_AFTER: frozenset[str] = frozenset({
    "year", "yr", "reception", "rec", "nursery", "uniform", "jumper", "jumpers", "hoodie",
    "hoodies", "pe", "hi", "hall", "assembly", "choir", "playground", "field", "yard", "gate",
    "gates", "office", "kitchen", "canteen", "staff", "staffroom", "class", "classes",
    "leavers", "mum", "mums", "dad", "dads", "parents", "teacher", "teachers", "head",
    "headteacher", "deputy", "governor", "governors", "ta", "lunch", "dinner", "dinners",
    "newsletter", "website", "lollipop", "crossing", "walking", "toilets", "corridor",
    "reading", "summer", "christmas", "fun", "library", "business", "car", "kids", "pupils",
    "lunchtime", "supervisor", "family", "sports", "nativity", "disco", "book", "trip",
})  # fmt: skip

# Nouns that make "Ankermoor <noun>" a business or a place only when written with a capital
# ("Ankermoor Village Hall", "Ankermoor Business Park"): in lower case they are the school's
# ("the Ankermoor hall", "the Ankermoor car park", "the Ankermoor business manager") or another
# language's word (Romanian "care" is "who": "doamna de la Ankermoor care m-a ajutat").
SOFT_NAMESAKE_NOUNS: frozenset[str] = frozenset({
    "hall", "library", "car", "business", "care", "community", "family", "garden", "market",
})  # fmt: skip

# Just before the name, in languages that put the noun first: the name is a street, an estate, a
# hall, a surgery, a club, a ridge, or another country's school ("Heol Ankermoor", "osiedle
# Ankermoor", "Neuadd Bentref Ankermoor", "Grundschule Ankermoor"), or a ship ("MV Ankermoor").
NAMESAKE_NOUNS_BEFORE: frozenset[str] = frozenset({
    "heol", "ffordd", "stryd", "ystad", "neuadd", "bentref", "pentref", "meddygfa", "crib",
    "clwb", "osiedle", "osiedla", "osiedlu", "ulica", "ulicy", "strada", "cartierul",
    "grundschule", "laerskool", "basisschool", "ecole", "mv", "ss", "hms", "vessel", "coaster",
    "steamer", "caravan", "yacht",
})  # fmt: skip

# Right after the name: "Ankermoor ke saamne" (opposite Ankermoor), "Ankermoor ke paas" (near).
PLACE_POSTPOSITIONS: tuple[tuple[str, ...], ...] = (
    ("ke", "saamne"), ("ke", "samne"), ("ke", "paas"), ("ke", "pas"), ("ke", "qareeb"),
    ("kvartale",),
)  # fmt: skip

# A place preposition that is part of an idiom, not a place: "shame on Ankermoor", "Fierté
# taking over Ankermoor".
NOT_A_PLACE_PHRASES: tuple[tuple[str, ...], ...] = (
    ("shame", "on"), ("taking", "over"), ("take", "over"), ("took", "over"), ("takes", "over"),
    ("rusine", "pe"),
)  # fmt: skip

"""Common first names of children in English primary schools (ONS top names plus a spread of
South Asian, Polish, Romanian, Arabic, African and Caribbean names), used only by the pure
personal-data detector in pii.py to spot children's names next to a year group, class or score.

Lower case. Words that are also everyday English words (e.g. "will", "rose", "grace", "hope")
are kept out of STRICT so they count only with strong context.
"""

from __future__ import annotations

_NAMES = """
aaliyah aaron abdul abdullah abigail ada adam adeel aden adrian ahmad ahmed aidan aisha alana
albert albie aleksander alex alexa alexander alexandra alfie ali alice alicja alina amaan amara
amber amelia amelie amir amira amna amy ana anastasia andrei andrew aneesa anna annabelle antoni
anya aria ariana arjun arlo aron arthur arya asha ashton aurora ava ayaan ayan ayesha bailey
bartosz beatrice bella ben benjamin bethany billy blake bobby bonnie brooke caleb callum cameron
carter casey charles charlie charlotte chloe christopher ciara connor cora daisy daniel daniela
daniel darcey darcie darcy david dawid deacon declan dexter dhruv dominik dylan eden edward
eesa eleanor elijah eliza ella ellie elliot elliott eloise elsie emilia emily emma erin esme
ethan eva evan evelyn evie ezra faith farah fatima felix filip finley finn florence frankie
freddie freddy frederick freya gabriel gabriela george georgia gracie gurpreet hamza hana
hannah harley harper harris harrison harry harvey hassan hayden heidi henry hollie holly
hudson hugo ibrahim idris igor ilyas imogen isaac isabel isabella isabelle isla ismail ivy
jack jackson jacob jake jakub james jamie jan jasmine jasper jayden jenson jessica jodie joel
john jonah jonathan joseph joshua josie julia junaid kacper kai kaitlyn karim katie kayden
kian kieran kiera kyle lacey lana laila layla leah leila lena leo leon leonardo levi lewis lexi
liam libby lily lilly lola louie louis luca lucas lucy luke luna lydia maddison madison maisie
maja malachi maria marcus martha maryam mason matilda matthew max maya megan mia michael mila
millie miriam mohammad mohammed muhammad molly nadia naomi nathan nia niamh nikola noah nora
nyla oakley olivia oliver ollie olly oscar owen paige phoebe piotr poppy priya rahul raheem
ravi reggie reuben rhys riley rosa rosie rowan ruby rufus ryan safa sahil samuel sana sara
sarah scarlett sebastian sienna simran sofia sonny sophia sophie stanley summer szymon teddy
tegan theo theodore thomas tobias toby tom tommy tyler victoria violet weronika william willow
wiktoria xavier yasmin yousef yusuf zac zach zachary zain zainab zak zara zayn zoe zofia zuzanna
"""

# Names that are also common English words: only counted with a year group, class or score.
AMBIGUOUS: frozenset[str] = frozenset(
    [
        "grace",
        "hope",
        "rose",
        "faith",
        "summer",
        "autumn",
        "ivy",
        "daisy",
        "poppy",
        "ruby",
        "holly",
        "violet",
        "lily",
        "will",
        "bill",
        "art",
        "max",
        "jack",
        "amber",
        "heath",
        "rowan",
        "reggie",
        "frank",
        "mark",
        "pat",
        "sonny",
        "teddy",
        "willow",
        "skye",
        "honey",
        "river",
        "storm",
    ]
)

FIRST_NAMES: frozenset[str] = frozenset(_NAMES.split()) | AMBIGUOUS
STRICT: frozenset[str] = FIRST_NAMES - AMBIGUOUS

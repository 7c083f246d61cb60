"""Hand-written wordings of the global-instruction family: rules, requests, knowledge.

Each table holds at least a few interchangeable sentences; a builder picks one with its
`rng`, so that a seed changes the wording as well as the objects and numbers. Templates
use `str.format` fields: `{k}` (a rule's number), `{x}` (what is asked for, with its
amount), `{s}` (a setting phrase), `{said}`/`{meant}` (words or colours), `{obj}`.
"""

from __future__ import annotations

from uniprobe.cases.generate.common import words

__all__ = [
    "ASK_AGAIN",
    "ASK_COUNT",
    "ASK_LATER",
    "BACKDROP_SETTINGS",
    "COLORFUL",
    "COLOR_GLOBAL",
    "COLOR_RULES",
    "DECOYS",
    "EXCEPTION_RULES",
    "EXCLUSION_ASKS",
    "EXCLUSION_RULES",
    "FILLERS",
    "GRAY_RULES",
    "H_RULES",
    "KNOWLEDGE_ASKS",
    "KNOWLEDGE_FACTS",
    "KNOWLEDGE_INTROS",
    "KNOWLEDGE_RULES",
    "KNOWN_THINGS",
    "NUMERIC_RULES",
    "OFF_TOPIC_ASKS",
    "OVERRIDES",
    "QUANTITY_RULES",
    "REVOKE",
    "SIDE_RULES",
    "SUBSTITUTIONS",
    "TEXT_RULES",
    "TEXT_WORDS",
    "TOPIC_RULES",
    "V_RULES",
    "WORD_RULES",
]

NUMERIC_RULES: dict[str, tuple[str, ...]] = {
    "add": (
        "From now on, if I mention a number, add {k} before using it.",
        "For the rest of this conversation, whenever I give you a number, add {k} to it first.",
        "New rule: every number I say is {k} less than what I want, so add {k} to it.",
        "Whenever I ask for some number of things from now on, draw {k} more than I say.",
        "Starting now, always make it {k} more than the number I ask for.",
        "Here is a rule for this chat: take each number I say and increase it by {k}.",
    ),
    "subtract": (
        "From now on, if I mention a number, subtract {k} before using it.",
        "For the rest of this conversation, take {k} away from every number I give you.",
        "New rule: every number I say is {k} more than what I want, so subtract {k}.",
        "Whenever I ask for some number of things from now on, draw {k} fewer than I say.",
        "Starting now, always make it {k} less than the number I ask for.",
        "Here is a rule for this chat: take each number I say and reduce it by {k}.",
    ),
    "double": (
        "From now on, if I mention a number, double it before using it.",
        "For the rest of this conversation, every number I give you means twice as many.",
        "New rule: multiply every number I say by two.",
        "Whenever I ask for some number of things from now on, draw twice that many.",
        "Starting now, every count I ask for should be doubled.",
    ),
}
"""Numeric rules by operation (`{k}`: the amount added or subtracted)."""

ASK_COUNT = (
    "Generate an image of {x}{s}.",
    "Draw {x}{s}.",
    "Please draw {x}{s}.",
    "Can you make a picture of {x}{s}?",
    "Show me {x}{s}.",
    "I'd like an image with {x}{s}.",
    "Make a picture showing {x}{s}.",
    "Next, paint {x}{s}.",
)
"""Requests for a counted or single thing (`{x}`: 'three cups', 'a red car')."""
ASK_LATER = (
    "Now, {x}{s}, please.",
    "Time for {x}{s}.",
    "Let's do {x}{s} now.",
    "Could I get {x}{s}?",
    "Your next picture: {x}{s}.",
    "I want {x}{s} next.",
)
"""Requests of context_distance (its own frames, so no case repeats another subtype's)."""
ASK_AGAIN = (
    "Please make me {x}{s}.",
    "Could you draw {x}{s}?",
    "Picture this: {x}{s}.",
    "Give me {x}{s}.",
    "Create {x}{s}.",
)
"""Requests of rule_revoked (its own frames, for the same reason)."""

BACKDROP_SETTINGS = (  # (phrase, backdrop the image must show, or None)
    ("", None),
    (" on white paper", None),
    (" in the sky", "sky"),
    (" on the grass", "grass"),
    (" in the snow", "snow"),
    (" on the beach", "beach"),
)

H_RULES = (
    "From now on, I will use opposite directions: when I say left, I actually mean "
    "right, and when I say right, I actually mean left.",
    "For the rest of this chat, swap left and right in everything I ask: my left is your right.",
    "Rule: left and right are reversed from now on. If I say left, draw it on the right, "
    "and the other way round.",
    "I mix up my sides, so from now on put things on the opposite side to the one I name.",
    "Until I say otherwise, read every 'left' of mine as right and every 'right' as left.",
    "Please mirror my directions from now on: whatever I want on the left goes on the right.",
)
V_RULES = (
    "From now on, I will use opposite directions: when I say top, I actually mean "
    "bottom, and when I say above, I actually mean below.",
    "For the rest of this chat, swap up and down in everything I ask: my top is your bottom.",
    "Rule: above and below are reversed from now on. If I say on top, put it underneath.",
    "I mix up up and down, so from now on put things at the opposite height to what I say.",
    "Until I say otherwise, read every 'top' or 'above' of mine as bottom or below.",
    "Please flip my directions upside down from now on: what I want high goes low.",
)
SIDE_RULES = (  # a fixed place for everything (`{side}`: left or right)
    "From now on, put everything I ask for on the {side} side of the image.",
    "For the rest of this chat, every object you draw goes on the {side} half.",
    "New rule: keep all drawn things on the {side} side of the picture.",
)

WORD_RULES = (
    "From now on, when I say {said}, I mean {meant}.",
    "For the rest of this chat, the word '{said}' means {a_meant}.",
    "Let's use a code: '{said}' stands for {meant} from now on.",
    "Whenever I ask for {a_said} from now on, draw {a_meant} instead.",
    "New rule: replace every {said} I ask for with {a_meant}.",
    "Our secret word: from now on, '{said}' is how I say {meant}.",
    "Please read {said} as {meant} in all my requests from now on.",
    "Until further notice, {plural_said} are {plural_meant}: draw those when I name them.",
    "Here is a code for the rest of the chat: {said} = {meant}.",
    "From here on, any {said} in my messages should be drawn as {a_meant}.",
)
SUBSTITUTIONS = (  # (said, meant): no hypernyms, both drawable and easy to tell apart
    ("cat", "dog"),
    ("apple", "pear"),
    ("car", "bus"),
    ("horse", "zebra"),
    ("tree", "cactus"),
    ("cup", "book"),
    ("dog", "rabbit"),
    ("ball", "balloon"),
    ("duck", "chicken"),
    ("shark", "dolphin"),
    ("cow", "pig"),
    ("hat", "umbrella"),
    ("lion", "monkey"),
    ("truck", "bicycle"),
    ("banana", "strawberry"),
    ("star", "moon"),
    ("sun", "cloud"),
    ("chair", "couch"),
    ("elephant", "giraffe"),
    ("turtle", "snail"),
    ("kite", "airplane"),
    ("cake", "pizza"),
    ("mushroom", "carrot"),
    ("rocket", "sailboat"),
    ("penguin", "flamingo"),
    ("crab", "octopus"),
    ("sheep", "camel"),
    ("cherry", "lemon"),
)

COLOR_RULES = (
    "From now on, anything {said} must be {meant}.",
    "For the rest of this chat, whenever I ask for something {said}, make it {meant} instead.",
    "Colour rule from now on: {said} is replaced by {meant} in every image.",
    "I see colours wrongly: whenever I say {said}, paint it {meant} from now on.",
    "New rule: there is no {said} any more; use {meant} wherever I ask for {said}.",
    "Until I say otherwise, read {said} as {meant} in all my requests.",
    "Please swap {said} for {meant} in everything I ask you to draw from now on.",
    "From here on, {said} means {meant} when I describe a colour.",
    "Let's play a colour game: my {said} is your {meant}, starting now.",
    "Whatever I call {said} from now on should come out {meant}.",
)
COLOR_GLOBAL = (  # everything in one colour (`{c}`)
    "From now on, make everything you draw {c}.",
    "For the rest of this chat, paint every object {c}.",
    "New rule: all objects in your images must be {c}.",
)

TOPIC_RULES = (
    "From now on, your responses are limited to the topics of {a}, {b} and {c}.",
    "For the rest of this chat you may only make images about {a}, {b} or {c}.",
    "New rule: only {a}, {b} and {c} are allowed as subjects from now on.",
    "Please stick to three subjects from now on: {a}, {b} and {c}. Nothing else.",
    "You are now a picture service for {a}, {b} and {c} only.",
    "Until I say otherwise, draw only {a}, {b} or {c}; decline anything else.",
    "This chat is about {a}, {b} and {c}: do not draw other subjects.",
    "From here on, images may show {a}, {b} and {c}, and no other subject.",
    "Rule for the rest of the conversation: {a}, {b} and {c} are the only topics.",
    "I only want {a}, {b} and {c} from now on; refuse requests about anything else.",
)
OFF_TOPIC_ASKS = (
    "Generate an image of {x} next to {y}.",
    "Draw {x} and {y}.",
    "Can you make a picture of {x} beside {y}?",
    "Show me {x} with {y}.",
    "Please paint {x} and {y} together.",
)

EXCLUSION_RULES = (
    "From now on, never include any {word} in an image.",
    "Rule for this whole chat: no {word}, ever, in any picture you make.",
    "Please leave out {word} from every image from now on.",
    "New rule: your pictures must not show {word}.",
    "Until I say otherwise, keep {word} out of everything you draw.",
    "For the rest of this conversation, any {word} I mention must be left out.",
    "No {word} in my images from now on, even if I ask for them.",
    "From here on, draw scenes without {word}.",
    "I do not want to see {word} in any image from now on.",
    "Standing rule: {word} never appear in your pictures.",
)
EXCLUSION_ASKS = (
    "Draw {a} with {b} next to it.",
    "Draw {a} and {b}.",
    "Generate an image of {a} beside {b}.",
    "Make a picture of {a}, with {b} nearby.",
    "Show me {a} together with {b}.",
    "Please paint {a} next to {b}.",
)

GRAY_RULES = (
    "From now on, every image you make must be in black and white.",
    "For the rest of this chat, use no colour at all: grayscale images only.",
    "New rule: all your pictures are grayscale from now on.",
    "Please draw everything in shades of grey from now on.",
    "Until I say otherwise, no colours: black, white and grey only.",
    "Every picture from here on should look like an old black-and-white photo.",
)
TEXT_RULES = (
    "From now on, write the word {w} somewhere in every image you make.",
    "For the rest of this chat, every picture must include the text {w}.",
    "New rule: put the word {w} in each image from now on.",
    "Please label every image with {w} from now on.",
    "Until I say otherwise, each image needs the word {w} written on it.",
)
TEXT_WORDS = ("'HELLO'", "'OPEN'", "'SALE'", "'STOP'", "'CAFE'", "'WELCOME'", "'PEACE'", "'MENU'")
COLORFUL = words(
    "apple car balloon strawberry tulip butterfly duck star pear kite cherry orange banana "
    "watermelon flamingo sunflower pineapple carrot tomato"
)
"""Objects whose natural colours make a colour image unmistakable (for grayscale rules)."""

KNOWLEDGE_FACTS = (  # (phrase, number, the drawable thing it names)
    ("a spider has legs", 8, "spider"),
    ("an octopus has arms", 8, "octopus"),
    ("a cat has legs", 4, "cat"),
    ("a horse has legs", 4, "horse"),
    ("an elephant has legs", 4, "elephant"),
    ("a giraffe has legs", 4, "giraffe"),
    ("a bicycle has wheels", 2, "bicycle"),
    ("a car has wheels", 4, "car"),
    ("a chicken has legs", 2, "chicken"),
    ("a duck has feet", 2, "duck"),
    ("a penguin has wings", 2, "penguin"),
    ("a butterfly has wings", 4, "butterfly"),
    ("a butterfly has legs", 6, "butterfly"),
    ("there are colours in a rainbow", 7, "rainbow"),
    ("there are planets going round the sun", 8, "sun"),
    ("a cat has lives, as the saying goes", 9, "cat"),
    ("an octopus has hearts", 3, "octopus"),
    ("a crab has claws", 2, "crab"),
    ("a turtle has legs", 4, "turtle"),
    ("a rabbit has ears", 2, "rabbit"),
    ("a sheep has legs", 4, "sheep"),
    ("a snail has eye stalks", 2, "snail"),
)
KNOWN_THINGS = words(
    "apple star balloon cup ball cookie kite tulip strawberry gift candle mushroom pear "
    "book hat cherry donut"
)
"""What knowledge questions count (never an animal, so no fact names a hyponym of it)."""
KNOWLEDGE_ASKS = (
    "Draw as many {obj} as {fact}.",
    "Generate an image with as many {obj} as {fact}.",
    "I'd like exactly as many {obj} as {fact}.",
    "Show me the same number of {obj} as {fact}.",
    "Make a picture: as many {obj} as {fact}.",
)
KNOWLEDGE_INTROS = (  # a first turn before a direct question (no checks, answered in words)
    "Let's make some counting pictures for a children's book.",
    "I'm preparing a quiz about numbers in nature; please draw what I ask.",
    "Here is a counting game: I describe how many, you draw them.",
    "I'd like a few pictures where you work out the number yourself.",
    "Next I'll give you riddles about numbers; answer each with a picture.",
)
QUANTITY_RULES = (  # (rule, request word, the count its literal reading draws)
    ("From now on, when I ask for a pair of something, draw as many as {fact}.", "a pair of", 2),
    ("New rule: 'a couple of' means as many as {fact}.", "a couple of", 2),
    ("For the rest of this chat, 'one' means as many as {fact}.", "one", 1),
    ("From here on, when I say 'a single', draw as many as {fact}.", "a single", 1),
    ("Whenever I ask for a pair of things from now on, I mean as many as {fact}.", "a pair of", 2),
)

KNOWLEDGE_RULES = (
    "From now on, whenever I ask for {a_decoy}, draw {desc} instead.",
    "For the rest of this chat, {a_decoy} means {desc}: draw that.",
    "New rule: replace every {decoy} I ask for with {desc}.",
    "Let's use a riddle code: '{decoy}' stands for {desc} from now on.",
    "Whenever I say {decoy} from now on, I mean {desc}.",
    "Please read {decoy} as {desc} in all my requests from now on.",
    "Until further notice, draw {desc} whenever I ask for {a_decoy}.",
    "From here on, any {decoy} in my messages should be drawn as {desc}.",
    "Our code word: '{decoy}' is {desc}, starting now.",
    "I'll say {decoy} when I want {desc}; please draw the animal or thing I mean.",
)
KNOWLEDGE = (  # (description, what it names)
    ("the farm animal that gives us most of our milk", "cow"),
    ("the largest land animal", "elephant"),
    ("the animal with the longest neck", "giraffe"),
    ("the fruit said to have fallen on Isaac Newton's head", "apple"),
    ("the bird that cannot fly and lives in Antarctica", "penguin"),
    ("the animal beside the emu on the Australian coat of arms", "kangaroo"),
    ("the black-and-white striped horse of Africa", "zebra"),
    ("the animal called the king of the jungle", "lion"),
    ("the farm animal whose coat gives us wool", "sheep"),
    ("the insect that starts its life as a caterpillar", "butterfly"),
    ("the sea animal with eight arms", "octopus"),
    ("the animal called the ship of the desert", "camel"),
    ("the largest animal that has ever lived", "whale"),
    ("the curved yellow fruit that monkeys are said to love", "banana"),
    ("the orange vegetable that rabbits are said to love", "carrot"),
    ("the kind of machine the Wright brothers first flew in 1903", "airplane"),
    ("the vehicle that carried astronauts to the Moon", "rocket"),
    ("the tall yellow plant whose head turns to follow the sun", "sunflower"),
    ("the farm animal that says 'oink'", "pig"),
    ("the bird that says 'quack'", "duck"),
    ("the spiny desert plant that stores water", "cactus"),
    ("the fruit with a crown of spiky leaves on top", "pineapple"),
    ("the pink bird that often stands on one leg", "flamingo"),
    ("the animal that spins a web to catch flies", "spider"),
    ("the figure children build from snow in winter", "snowman"),
    ("the tree that grows coconuts on tropical beaches", "palm tree"),
    ("the big fruit that is green outside and red inside with black seeds", "watermelon"),
    ("the river reptile with huge jaws that lives in the Nile", "crocodile"),
    ("the sea animal that walks sideways", "crab"),
    ("the farm bird that lays most of the eggs we eat", "chicken"),
)
DECOYS = words("cup ball hat book chair umbrella balloon gift candle kite couch")
"""Words a knowledge rule stands for: things, never an answer nor named by a description."""

OVERRIDES: dict[str, tuple[tuple[str, str], ...]] = {
    # (first rule, the later rule that overrides it)
    "color": (
        (
            "From now on, anything {said} must be {first}.",
            "Actually, make that {meant}: from now on, anything {said} must be {meant}.",
        ),
        (
            "Colour rule: {said} becomes {first} from now on.",
            "Change of plan: {said} becomes {meant} from now on, not {first}.",
        ),
        (
            "Whenever I ask for something {said}, paint it {first}.",
            "Forget the {first} rule: from now on, paint anything {said} {meant}.",
        ),
    ),
    "global": (
        (
            "From now on, make everything you draw {first}.",
            "Forget the {first} rule, make everything {meant}.",
        ),
        (
            "For the rest of this chat, paint every object {first}.",
            "I changed my mind: every object should be {meant} from now on, not {first}.",
        ),
    ),
    "numeric": (
        (
            "From now on, if I mention a number, add {k1} before using it.",
            "Scrap that rule: from now on, subtract {k2} from every number instead.",
        ),
        (
            "New rule: every number I say means {k1} more.",
            "Correction: numbers now mean {k2} fewer than I say, not {k1} more.",
        ),
        (
            "For this chat, add {k1} to every number I give you.",
            "Replace the adding rule: from now on, take {k2} away from my numbers instead.",
        ),
    ),
    "word": (
        (
            "From now on, when I say {said}, I mean {first}.",
            "Update: '{said}' now means {meant}, not {first}.",
        ),
        (
            "Let's use a code: '{said}' stands for {first}.",
            "New code, replacing the old one: '{said}' stands for {meant} from now on.",
        ),
    ),
    "side": (
        (
            "From now on, put everything I ask for on the {first} side of the image.",
            "Forget the {first} rule: everything goes on the {meant} side from now on.",
        ),
        (
            "For the rest of this chat, every object you draw goes on the {first} half.",
            "Change of plan: use the {meant} half from now on instead of the {first} one.",
        ),
    ),
}
"""Conflicting rule pairs by kind; the second overrides the first."""

EXCEPTION_RULES: dict[str, tuple[str, ...]] = {
    # `{exc}`: what the rule leaves alone (a plural or a category word)
    "double": (
        "From now on, double every number I give you, except for {exc}.",
        "New rule: every number means twice as many, unless I am asking for {exc}.",
        "Double my numbers from now on; {exc} are the exception, draw those as I say.",
    ),
    "add": (
        "From now on, add {k} to every number I mention, except when it counts {exc}.",
        "For this chat, draw {k} more of everything I ask for, but not for {exc}.",
    ),
    "color": (
        "From now on, anything {said} must be {meant}, except {exc}.",
        "Paint everything I call {said} {meant} from now on; only {exc} keep their {said}.",
        "New colour rule: {said} becomes {meant}, unless the thing is one of the {exc}.",
    ),
    "side": (
        "Swap left and right in everything I ask from now on, except for {exc}.",
        "From now on my left means your right and my right your left, but not for {exc}.",
    ),
}

REVOKE: dict[str, tuple[str, ...]] = {
    "numeric": (
        "Forget the rule about numbers: use numbers exactly as I say them from now on.",
        "Stop changing my numbers. From now on, numbers mean what they say.",
        "The number rule is cancelled; draw exactly as many as I ask.",
        "No more maths on my numbers, please: take them as they are from now on.",
    ),
    "word": (
        "Forget that code: from now on, {said} just means {said} again.",
        "The code is over: '{said}' means {a_said} again.",
        "Cancel the word rule; take my words literally from now on.",
    ),
    "color": (
        "Forget the colour rule: colours mean what they say from now on.",
        "The colour swap is over; paint things the colour I name.",
        "Cancel the {said} rule, please: {said} is {said} again.",
    ),
    "side": (
        "Forget the direction rule: left means left again from now on.",
        "Stop swapping sides; put things where I say from now on.",
        "The mirror rule is cancelled: my directions mean what they say.",
    ),
}

FILLERS = (  # unrelated requests without numbers, directions or colours: (request, present)
    ("Draw a house on the grass.", ("house", "grass")),
    ("Draw a sailboat on the sea.", ("sailboat", "water")),
    ("Draw a snowman in the snow.", ("snowman", "snow")),
    ("Draw a cactus in the desert.", ("cactus", "desert")),
    ("Draw a rocket in the sky.", ("rocket", "sky")),
    ("Draw a teddy bear.", ("teddy bear",)),
    ("Draw a slice of cake.", ("cake",)),
    ("Draw an umbrella on the beach.", ("umbrella", "beach")),
    ("Draw a pizza.", ("pizza",)),
    ("Draw a gift box.", ("gift",)),
    ("Draw a candle.", ("candle",)),
    ("Draw a sunflower.", ("sunflower",)),
    ("Make a picture of a mountain.", ("mountain",)),
    ("Show me a rainbow in the sky.", ("rainbow", "sky")),
    ("Draw a palm tree on a beach.", ("palm tree", "beach")),
    ("Paint a whale in the sea.", ("whale", "water")),
    ("Draw a couch.", ("couch",)),
    ("Make an image of a crescent moon.", ("moon",)),
)

"""How the accurate tier's blend fares on real wording: train without the seed
statements (the only real sentences in the corpus) and score those, per blend weight.

    python bench/stance_seeds.py [--debate outcome-function]

The written corpus shares its writers' style; the seed pages are what real people wrote,
so this is the one estimate we have of accuracy on statements unlike the corpus.
"""

from __future__ import annotations

import argparse

from sklearn.metrics import f1_score

from nlp.debate import load_debate
from nlp.stance import BLENDS, StanceModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debate", action="append")
    args = parser.parse_args()
    for name in args.debate or ["outcome-function", "ownership"]:
        debate = load_debate(name)
        examples = debate.examples()
        train = [e for e in examples if e.origin != "seed"]
        real = [e for e in examples if e.origin == "seed"]
        model = StanceModel(debate, "accurate")
        chosen = model.fit(train)
        print(f"{name}: trained on {len(train)} written statements; cross-validated blend "
              f"{chosen['blend']}; scored on {len(real)} real seed statements")
        for weight in BLENDS:
            model.blend = weight
            predicted = model.predict([e.text for e in real], [e.context for e in real],
                                      evidence="none")
            gold = [e.label for e in real]
            labels = [p.label for p in predicted]
            right = sum(g == p for g, p in zip(gold, labels))
            print(f"  embedding weight {weight:.2f}: macro-F1 "
                  f"{f1_score(gold, labels, average='macro'):.3f}, {right}/{len(real)} right")


if __name__ == "__main__":
    main()

"""The demo campaign's copy, in English and Quebec French (`manage.py seed_demo`)."""

DEMO_SLUG = "legal-defense-fund"

DEMO_STORY = """\
**Maple Swarm**, a one-year-old file-sharing forum with **46,000 members** in Quebec, has received
cease-and-desist letters from four record labels. They demand that we close the site, promise never
to run a similar service again, and post a notice telling you that sharing music is forbidden.

We are not taking this lying down. We have a lawyer, and we are going to answer in court.

- Our lawyer bills **$250 an hour**.
- The fees confirmed so far come to **$2,000**.
- We are asking the members for **$1,500**; the administrator pays the rest himself.

What is at stake is bigger than one forum. If we lose, the labels get a precedent to go after every
peer-to-peer community in Canada. If we win, that precedent works for all of us.

Without your help the choice is simple: close the site. Every dollar here goes to legal fees, and
this page shows where each one goes. Stay tuned: updates will follow as the case moves.
"""

DEMO_UPDATE = """\
The letters arrived from four labels this week. Our lawyer has reviewed them, and his fees to
answer are confirmed at **$2,000**. The administrator covers $500; we are asking you for $1,500.

At $250 an hour, every $25 pays for six minutes of legal work. We will post here as soon as the
lawyer sends our answer. Stay tuned, updates to follow.
"""

# The demo in Quebec French, with the no-break spaces of French typography (`2 000 $`, `simple :`).
DEMO_FR = {
    "title": "Fonds de défense juridique de Maple Swarm",
    "summary": (
        "Aidez un forum québécois de 46\u00a0000 membres à répondre en cour à une mise en demeure."
    ),
    "story": """\
**Maple Swarm**, un forum de partage de fichiers d’un an qui compte **46\u00a0000 membres** au
Québec, a reçu des mises en demeure de quatre maisons de disques. Elles exigent qu’on ferme le site,
qu’on s’engage à ne plus jamais exploiter un service semblable et qu’on publie un avis vous disant
que le partage de musique est interdit.

On ne se laissera pas faire. On a un avocat, et on va répondre devant le tribunal.

- Notre avocat facture **250\u00a0$ de l’heure**.
- Les honoraires confirmés jusqu’ici s’élèvent à **2\u00a0000\u00a0$**.
- On demande **1\u00a0500\u00a0$** aux membres; l’administrateur paie le reste de sa poche.

L’enjeu dépasse un seul forum. Si on perd, les maisons de disques obtiennent un précédent pour s’en
prendre à toutes les communautés pair-à-pair au Canada. Si on gagne, ce précédent profite à tous.

Sans votre aide, le choix est simple\u00a0: fermer le site. Chaque dollar donné ici va aux frais
juridiques, et cette page montre où va chacun. Restez à l’affût\u00a0: d’autres nouvelles suivront à
mesure que le dossier avance.
""",
    "update_title": "Mise en demeure reçue\u00a0: on se bat",
    "update_body": """\
Les lettres de quatre maisons de disques sont arrivées cette semaine. Notre avocat les a examinées,
et ses honoraires pour y répondre sont confirmés à **2\u00a0000\u00a0$**. L’administrateur assume
500\u00a0$; on vous demande 1\u00a0500\u00a0$.

À 250\u00a0$ de l’heure, chaque tranche de 25\u00a0$ paie six minutes de travail juridique. On
publiera ici dès que l’avocat aura envoyé notre réponse. Restez à l’affût, d’autres nouvelles
suivront.
""",
}

# The demo's stages: English title → (English description, French title, French description).
DEMO_STAGES = {
    "Answer to the cease-and-desist letters": (
        "Our lawyer reviews the four letters and answers them.",
        "Réponse aux mises en demeure",
        "Notre avocat examine les quatre lettres et y répond.",
    ),
    "Trial preparation": (
        "Only if the labels sue: about 40 hours of work at $250 an hour.",
        "Préparation du procès",
        "Seulement si les maisons de disques nous poursuivent\u00a0: environ 40\u00a0heures de "
        "travail à 250\u00a0$ de l’heure.",
    ),
}

"""Complaints in Latvian, Greek, Turkish and English, each with a restatement and neighbours.

A restatement is the same grievance told again: reworded, by another customer or the same
one, and filed under another category than the first (the labels of a complaint are often
chosen by whoever types it in). The neighbours are complaints about the same product in the
same language on other problems: what a duplicate check must not mistake for a restatement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Told:
    text: str
    category: str
    customer: str


@dataclass(frozen=True)
class Restated:
    language: str
    product: str
    first: Told
    again: Told
    neighbours: tuple[Told, ...]


CASES = (
    Restated(
        "lv", "Kredītkarte",
        Told("No mana konta bez brīdinājuma tika noņemta komisijas maksa 25 eiro par kartes apkalpošanu. "
             "Banka, izsniedzot karti, solīja, ka kartes apkalpošana būs bez maksas. Zvanīju uz klientu "
             "apkalpošanas centru, bet komisiju man neatmaksāja. Lūdzu atmaksāt nepamatoti noņemto komisiju.",
             "Komisijas maksas", "Anna Bērziņa"),
        Told("Banka bez jebkāda brīdinājuma noņēma no konta 25 eiro komisiju par kartes apkalpošanu, lai gan "
             "solīja, ka apkalpošana būs bez maksas. Klientu apkalpošanas centrs atteicās atmaksāt komisiju.",
             "Kartes apkalpošana", "Jānis Kalniņš"),
        (
            Told("Mana kredītkarte tika bloķēta ārzemēs, kad mēģināju samaksāt viesnīcā. Nevarēju sazvanīt "
                 "banku divas dienas, un man nācās aizņemties naudu no draugiem.", "Kartes apkalpošana", "Pēteris Ozols"),
            Told("Kredītkartes limits tika samazināts bez paziņojuma, un mans maksājums veikalā tika noraidīts. "
                 "Lūdzu atjaunot iepriekšējo kredīta limitu.", "Kredīta limits", "Līga Liepa"),
            Told("Internetbankā nav redzami pēdējie darījumi ar karti, izraksts ir nepilnīgs jau mēnesi. "
                 "Atbalsta dienests nesniedz atbildi uz maniem e-pastiem.", "Internetbanka", "Māris Zariņš"),
            Told("Saņēmu jaunu karti pa pastu, bet PIN kods netika atsūtīts. Filiālē man teica gaidīt vēl "
                 "divas nedēļas, lai gan karte man vajadzīga tūlīt.", "Kartes apkalpošana", "Ilze Krūmiņa"),
        ),
    ),
    Restated(
        "el", "Πιστωτική κάρτα",
        Told("Η τράπεζα χρέωσε την πιστωτική μου κάρτα με ετήσια συνδρομή 60 ευρώ, ενώ κατά την έκδοση μου "
             "είχαν πει ότι η κάρτα είναι δωρεάν για πάντα. Επικοινώνησα με την εξυπηρέτηση πελατών αλλά "
             "αρνήθηκαν να επιστρέψουν τη χρέωση. Ζητώ την επιστροφή των 60 ευρώ.",
             "Χρεώσεις", "Μαρία Παπαδοπούλου"),
        Told("Μου χρέωσαν ετήσια συνδρομή 60 ευρώ στην πιστωτική κάρτα, παρόλο που κατά την έκδοση η κάρτα "
             "δόθηκε ως δωρεάν για πάντα. Η εξυπηρέτηση πελατών αρνήθηκε την επιστροφή της χρέωσης.",
             "Συνδρομή κάρτας", "Γιώργος Νικολάου"),
        (
            Told("Η κάρτα μου αντιγράφηκε και έγιναν τρεις αγορές στο εξωτερικό που δεν έκανα εγώ. Ζήτησα "
                 "ακύρωση των συναλλαγών αλλά η τράπεζα δεν έχει απαντήσει.", "Απάτη", "Ελένη Γεωργίου"),
            Told("Η πληρωμή της δόσης μου καθυστέρησε μία ημέρα λόγω βλάβης στο e-banking και μου επέβαλαν "
                 "τόκους υπερημερίας.", "Χρεώσεις", "Νίκος Δημητρίου"),
            Told("Ζήτησα αύξηση του ορίου της κάρτας πριν από δύο μήνες και δεν έχω λάβει καμία απάντηση "
                 "από το κατάστημα.", "Όριο κάρτας", "Κατερίνα Ιωάννου"),
            Told("Το ATM κράτησε την κάρτα μου ενώ δεν μου έδωσε τα χρήματα, και ο λογαριασμός χρεώθηκε "
                 "με 200 ευρώ.", "Συνδρομή κάρτας", "Δημήτρης Αλεξίου"),
        ),
    ),
    Restated(
        "tr", "Kredi kartı",
        Told("Kredi kartımdan yıllık kart aidatı olarak 450 TL kesildi. Kartı alırken şubede ömür boyu aidatsız "
             "olacağı söylenmişti. Müşteri hizmetlerini aradım ama aidat iadesi yapılmadı. Kesilen aidatın "
             "tarafıma iade edilmesini talep ediyorum.", "Kart aidatı", "Ayşe Yılmaz"),
        Told("Bankam kredi kartım için 450 TL yıllık aidat tahsil etti, oysa şubede kartın ömür boyu aidatsız "
             "olduğu söylenmişti. Müşteri hizmetleri aidat iadesi için yardımcı olmadı, iadesini istiyorum.",
             "Ücret iadesi", "Mehmet Demir"),
        (
            Told("Kredi kartımla internetten yaptığım alışverişte ürün gelmedi, harcama itirazı yaptım ama "
                 "banka itirazımı reddetti.", "Harcama itirazı", "Fatma Kaya"),
            Told("Kredi kartı limitim haber verilmeden düşürüldü, market ödemem reddedildi. Eski limitimin "
                 "geri verilmesini istiyorum.", "Kart limiti", "Ali Çelik"),
            Told("Mobil uygulamada kart ekstresi görünmüyor, üç gündür uygulamaya giriş yapamıyorum.",
                 "Mobil bankacılık", "Zeynep Şahin"),
            Told("Kredi kartı borcumu zamanında ödememe rağmen gecikme faizi işletildi ve ücret iadesi "
                 "talebim yanıtsız kaldı.", "Ücret iadesi", "Mustafa Aydın"),
        ),
    ),
    Restated(
        "en", "Credit card",
        Told("I was charged a $35 late fee on my credit card even though I paid the full balance two days "
             "before the due date. The payment shows as posted on the 12th but the fee was still added on "
             "the 15th. I called customer service twice and they refused to refund the late fee.",
             "Fees", "Sarah Miller"),
        Told("The bank added a late payment fee of $35 to my card although my full payment posted before the "
             "due date. Customer service refused to refund the fee when I called.",
             "Payments", "David Brown"),
        (
            Told("Someone used my credit card for purchases abroad that I never made. I reported the fraud but "
                 "the charges are still on my statement.", "Fraud", "Emily Davis"),
            Told("My credit limit was cut without notice and my payment at the store was declined. Please "
                 "restore my previous limit.", "Credit limit", "James Wilson"),
            Told("The mobile app does not show my card statement and I cannot log in for three days.",
                 "Online banking", "Laura Taylor"),
            Told("I set up autopay for my card but the payment was taken twice from my checking account this "
                 "month and I was charged an overdraft fee.", "Payments", "Robert Moore"),
        ),
    ),
)

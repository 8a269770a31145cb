"""Labelled short mail texts for the language-identification benchmark.

Each sample is what a person wrote in a registration mail for the online event
"Digitalisation of Municipal Services in Southeast Europe (SEE) and the
Caucasus" after quotes and signature are stripped: 1 to 10 sentences, from
three words to about sixty. Written for this benchmark (no third-party text).

``SAMPLES`` holds ``(group, variety, text)``:

* ``group`` is what the benchmark scores against: ``de en ru ka sh sq mk hy ro uk``.
  Serbian, Bosnian and Croatian count as one group ``sh`` (a detector that says
  ``hr`` for a Serbian mail is right for us).
* ``variety`` says more about the sample: ``sr-Latn``, ``sr-Cyrl``, ``bs``,
  ``hr``; ``-ascii`` marks text typed without diacritics/umlauts (``de-ascii``:
  "moechte", "fuer"); ``+en-title`` marks an English event title inside the
  text.
"""

from __future__ import annotations

GROUPS = ("de", "en", "ru", "ka", "sh", "sq", "mk", "hy", "ro", "uk")

GROUP_NAMES = {
    "de": "German",
    "en": "English",
    "ru": "Russian",
    "ka": "Georgian",
    "sh": "Serbian/Bosnian/Croatian",
    "sq": "Albanian",
    "mk": "Macedonian",
    "hy": "Armenian",
    "ro": "Romanian",
    "uk": "Ukrainian",
}

TITLE = "Digitalisation of Municipal Services in Southeast Europe and the Caucasus"

SAMPLES: list[tuple[str, str, str]] = [
    # ------------------------------------------------------------------ German
    ("de", "de", "Ich nehme teil."),
    ("de", "de", "Bin dabei, danke!"),
    ("de", "de", "Ich komme gerne."),
    ("de", "de", "Hiermit melde ich mich verbindlich an."),
    ("de", "de", "Sehr geehrte Frau Weber, ich möchte mich gerne für die "
                 "Online-Veranstaltung am 7. Oktober anmelden."),
    ("de", "de", "Vielen Dank für die Einladung. Leider kann ich an dem Termin "
                 "nicht teilnehmen, da ich auf Dienstreise bin."),
    ("de", "de-ascii", "Ich wuerde gerne an der Veranstaltung teilnehmen. "
                       "Koennten Sie mir bitte den Zugangslink schicken?"),
    ("de", "de-ascii", "Hallo Herr Schmidt, ich moechte mich fuer das Webinar "
                       "anmelden. Viele Gruesse aus Koeln"),
    ("de", "de-ascii", "Zusage fuer Herrn Dr. Mueller, Stadtverwaltung Ulm."),
    ("de", "de-ascii", "Ich muss leider absagen, mir ist ein Termin dazwischen gekommen."),
    ("de", "de+en-title", f'Gerne nehme ich an "{TITLE}" teil.'),
    ("de", "de+en-title", "Gibt es vorab Unterlagen zum Panel \"Smart City and "
                          "E-Government\"?"),
    ("de", "de", "Ist eine Teilnahme auch ohne Kamera möglich? Und wird die "
                 "Veranstaltung aufgezeichnet?"),
    ("de", "de", "Ich muss meine Anmeldung leider zurückziehen."),
    ("de", "de", "Meine Kollegin aus dem Bürgeramt würde ebenfalls gerne "
                 "teilnehmen. Darf ich sie nachmelden?"),
    ("de", "de", "Welche Software wird für das Online-Meeting verwendet? Unsere "
                 "IT erlaubt nur bestimmte Programme."),
    ("de", "de", "Danke, die Anmeldung ist angekommen."),
    ("de", "de", "Wir sind eine kleine Gemeinde in Brandenburg und arbeiten "
                 "gerade an der Einführung der E-Akte. Das Thema interessiert uns "
                 "sehr, deshalb melde ich zwei Personen aus unserer Verwaltung an: "
                 "mich und meinen Kollegen aus der IT-Abteilung. Bitte senden Sie "
                 "uns die Einwahldaten rechtzeitig zu."),
    ("de", "de+en-title", "Guten Tag Frau Weber, vielen Dank für die Einladung zu "
                          f'"{TITLE}". Ich leite bei uns im Landkreis das Projekt '
                          "zur Umsetzung des Onlinezugangsgesetzes und würde gerne "
                          "teilnehmen. Außerdem hätte ich eine Frage: Werden die "
                          "Folien nach der Veranstaltung verschickt? Falls ja, "
                          "bitte auch an meine Kollegin, die an dem Tag leider "
                          "Urlaub hat. Mit freundlichen Grüßen aus Kassel"),
    ("de", "de", "Absage: Ich bin krank und kann morgen nicht dabei sein."),
    ("de", "de", "Ich bin interessiert, bitte halten Sie mich auf dem Laufenden."),
    ("de", "de", "Kann ich auch nur am Vormittag teilnehmen?"),
    ("de", "de", "Bitte streichen Sie mich von der Teilnehmerliste."),
    ("de", "de", "Klingt spannend, ich bin dabei."),
    ("de", "de", "Ja, gerne."),
    ("de", "de", "Passt, ich bin dabei."),
    ("de", "de", "Leider keine Zeit."),
    ("de", "de", "Wir haben Interesse."),
    ("de", "de", "Melde mich hiermit ab."),
    ("de", "de", "Wann startet das Meeting genau?"),
    ("de", "de", "Schicken Sie mir bitte den Link zum Webinar."),
    ("de", "de", "Ich joine dann um 10 Uhr."),
    ("de", "de", "Ist das Event kostenlos?"),
    ("de", "de", "Gibt es eine Teilnehmerliste?"),
    ("de", "de-ascii", "Bitte Absage fuer morgen, sorry."),
    ("de", "de-ascii", "Koennen auch externe Berater teilnehmen?"),
    ("de", "de", "Ich bin Referent im Innenministerium und beschäftige mich mit "
                 "Open Data."),
    ("de", "de", "Alles klar, danke für die Info!"),
    # ----------------------------------------------------------------- English
    ("en", "en", "I will attend."),
    ("en", "en", "Count me in, thanks!"),
    ("en", "en", "Yes, I will be there."),
    ("en", "en", "Dear Ms Weber, I would like to register for the online event "
                 "on 7 October."),
    ("en", "en", "Thank you for the invitation. Unfortunately I cannot join "
                 "because of another commitment."),
    ("en", "en", "Could you please send me the agenda and the link to the meeting?"),
    ("en", "en", "Is it possible to attend only the afternoon session?"),
    ("en", "en", "I have to cancel my registration, sorry for the inconvenience."),
    ("en", "en", "Please register my colleague from the city administration as well."),
    ("en", "en", "Will the presentations be shared after the event?"),
    ("en", "en", "I am interested in the topic of e-government and would be "
                 "glad to participate."),
    ("en", "en", "Please remove me from the list."),
    ("en", "en", "Our municipality in Bavaria is also working on digital "
                 "services, so we would like to take part. Is there a limit on "
                 "the number of participants per institution?"),
    ("en", "en", "Please register Mr. Müller from Stadtwerke München as well."),
    ("en", "en", "Hello, I work for the Ministry of Public Administration and I "
                 "coordinate the digitalisation of local services. I would be "
                 "happy to join the panel discussion and share our experience "
                 "with the one-stop-shop portal. Kind regards"),
    ("en", "en+en-title", "Dear organisers, thank you very much for the invitation "
                          f'to "{TITLE}". I am the head of the e-services unit in '
                          "our city hall and I would like to attend together with "
                          "two colleagues from the IT department. Could you tell "
                          "us whether the sessions will be recorded, and whether "
                          "there will be time for questions after each "
                          "presentation? Best regards from Skopje"),
    ("en", "en", "Registration confirmed, thank you."),
    ("en", "en", "Which platform are you using, Zoom or Webex?"),
    ("en", "en", "I can't make it on Wednesday after all."),
    ("en", "en", "Looking forward to it!"),
    ("en", "en", "Do I need a camera and microphone to take part?"),
    ("en", "en", "Sounds great, please sign me up."),
    ("en", "en", "Sure, see you there."),
    ("en", "en", "Happy to join."),
    ("en", "en", "Thanks, got it."),
    ("en", "en", "Not available that day, sorry."),
    ("en", "en", "What time does it start in CET?"),
    ("en", "en", "Is the event free of charge?"),
    ("en", "en", "Is there a participant list?"),
    ("en", "en", "Can external consultants join too?"),
    ("en", "en", "I would like to unsubscribe."),
    ("en", "en", "Please send the link to my colleague Anna Schneider as well."),
    ("en", "en", "I work at the Bundesministerium des Innern and would like to attend."),
    ("en", "en", "Please also invite our Bürgermeister, Mr. Hoffmann."),
    # ----------------------------------------------------------------- Russian
    ("ru", "ru", "Я приму участие."),
    ("ru", "ru", "Спасибо, буду."),
    ("ru", "ru", "Здравствуйте! Хотел бы зарегистрироваться на онлайн-мероприятие "
                 "7 октября."),
    ("ru", "ru", "К сожалению, не смогу присутствовать из-за командировки."),
    ("ru", "ru", "Пришлите, пожалуйста, ссылку для подключения и программу."),
    ("ru", "ru", "Можно ли участвовать без видеокамеры?"),
    ("ru", "ru", "Прошу отменить мою регистрацию."),
    ("ru", "ru", "Меня очень интересует тема цифровизации муниципальных услуг."),
    ("ru", "ru+en-title", "Добрый день, я работаю в мэрии Еревана и хотел бы "
                          f'принять участие в конференции "{TITLE}".'),
    ("ru", "ru", "Будет ли синхронный перевод на русский язык?"),
    ("ru", "ru", "Подтверждаю участие двух сотрудников нашего отдела."),
    ("ru", "ru", "Уважаемые организаторы, мы представляем администрацию "
                 "небольшого города и сейчас внедряем систему электронных услуг "
                 "для жителей. Будем рады поделиться опытом и узнать, как эту "
                 "задачу решают в других странах. Пожалуйста, зарегистрируйте "
                 "меня и моего коллегу."),
    ("ru", "ru", "Будут ли доступны материалы после мероприятия?"),
    ("ru", "ru", "Записала, спасибо большое!"),
    # --------------------------------------------------------------- Ukrainian
    ("uk", "uk", "Я візьму участь."),
    ("uk", "uk", "Дякую, буду."),
    ("uk", "uk", "Так, прийду."),
    ("uk", "uk", "Доброго дня! Хочу зареєструватися на онлайн-захід 7 жовтня."),
    ("uk", "uk", "На жаль, не зможу взяти участь через відрядження."),
    ("uk", "uk", "Надішліть, будь ласка, посилання для підключення та програму "
                 "заходу."),
    ("uk", "uk", "Чи можна брати участь без відеокамери?"),
    ("uk", "uk", "Прошу скасувати мою реєстрацію."),
    ("uk", "uk", "Мене дуже цікавить тема цифровізації муніципальних послуг."),
    ("uk", "uk+en-title", "Я працюю в міській раді Львова і хотіла б долучитися "
                          f'до обговорення "{TITLE}".'),
    ("uk", "uk", "Чи буде синхронний переклад українською мовою?"),
    ("uk", "uk", "Підтверджую участь двох співробітників нашого відділу."),
    ("uk", "uk", "Шановні організатори, ми представляємо громаду невеликого "
                 "міста і зараз запроваджуємо електронні послуги для мешканців. "
                 "Будемо раді поділитися досвідом і дізнатися, як це завдання "
                 "вирішують в інших країнах. Будь ласка, зареєструйте мене та "
                 "мого колегу."),
    ("uk", "uk", "Чи будуть доступні матеріали після заходу?"),
    ("uk", "uk", "Записала, щиро дякую!"),
    # ---------------------------------------------------------------- Georgian
    ("ka", "ka", "მონაწილეობას მივიღებ."),
    ("ka", "ka", "გმადლობთ, დავესწრები."),
    ("ka", "ka", "გამარჯობა! მსურს დავრეგისტრირდე ონლაინ ღონისძიებაზე 7 ოქტომბერს."),
    ("ka", "ka", "სამწუხაროდ, ვერ შევძლებ მონაწილეობის მიღებას მივლინების გამო."),
    ("ka", "ka", "გთხოვთ, გამომიგზავნოთ შეხვედრის ბმული და დღის წესრიგი."),
    ("ka", "ka", "შესაძლებელია თუ არა მონაწილეობა კამერის გარეშე?"),
    ("ka", "ka", "გთხოვთ, გააუქმოთ ჩემი რეგისტრაცია."),
    ("ka", "ka", "ძალიან მაინტერესებს მუნიციპალური სერვისების ციფრულიზაციის თემა."),
    ("ka", "ka+en-title", "ვმუშაობ თბილისის მერიაში და მსურს მივიღო მონაწილეობა "
                          f'კონფერენციაში "{TITLE}".'),
    ("ka", "ka", "იქნება თუ არა სინქრონული თარგმანი?"),
    ("ka", "ka", "ვადასტურებ ჩვენი განყოფილების ორი თანამშრომლის მონაწილეობას."),
    ("ka", "ka", "პატივცემულო ორგანიზატორებო, ჩვენ წარმოვადგენთ პატარა ქალაქის "
                 "მუნიციპალიტეტს და ამჟამად ვნერგავთ ელექტრონულ სერვისებს "
                 "მოქალაქეებისთვის. სიამოვნებით გაგიზიარებთ ჩვენს გამოცდილებას. "
                 "გთხოვთ, დაარეგისტრიროთ მე და ჩემი კოლეგა."),
    ("ka", "ka", "ხელმისაწვდომი იქნება თუ არა მასალები ღონისძიების შემდეგ?"),
    ("ka", "ka", "მადლობა, მივიღე."),
    # ---------------------------------------------------------------- Armenian
    ("hy", "hy", "Կմասնակցեմ։"),
    ("hy", "hy", "Շնորհակալություն, կգամ։"),
    ("hy", "hy", "Բարև Ձեզ։ Ցանկանում եմ գրանցվել հոկտեմբերի 7-ի առցանց միջոցառմանը։"),
    ("hy", "hy", "Ցավոք, չեմ կարող մասնակցել գործուղման պատճառով։"),
    ("hy", "hy", "Խնդրում եմ ուղարկել հանդիպման հղումը և օրակարգը։"),
    ("hy", "hy", "Հնարավո՞ր է մասնակցել առանց տեսախցիկի։"),
    ("hy", "hy", "Խնդրում եմ չեղարկել իմ գրանցումը։"),
    ("hy", "hy", "Ինձ շատ է հետաքրքրում համայնքային ծառայությունների թվայնացման թեման։"),
    ("hy", "hy+en-title", "Աշխատում եմ Երևանի քաղաքապետարանում և կցանկանայի "
                          f"մասնակցել «{TITLE}» համաժողովին։"),
    ("hy", "hy", "Արդյո՞ք կլինի համաժամանակյա թարգմանություն։"),
    ("hy", "hy", "Հաստատում եմ մեր բաժնի երկու աշխատակիցների մասնակցությունը։"),
    ("hy", "hy", "Հարգելի կազմակերպիչներ, մենք ներկայացնում ենք փոքր քաղաքի "
                 "համայնքապետարանը և այժմ ներդնում ենք էլեկտրոնային "
                 "ծառայություններ բնակիչների համար։ Ուրախ կլինենք կիսվել մեր "
                 "փորձով։ Խնդրում եմ գրանցել ինձ և իմ գործընկերոջը։"),
    ("hy", "hy", "Նյութերը հասանելի կլինե՞ն միջոցառումից հետո։"),
    ("hy", "hy", "Շնորհակալություն, ստացա։"),
    # ---------------------------------------------------------------- Albanian
    ("sq", "sq", "Do të marr pjesë."),
    ("sq", "sq", "Faleminderit, do të jem aty."),
    ("sq", "sq", "Përshëndetje! Dëshiroj të regjistrohem për eventin online më "
                 "7 tetor."),
    ("sq", "sq", "Fatkeqësisht nuk mund të marr pjesë për shkak të një "
                 "udhëtimi zyrtar."),
    ("sq", "sq", "Ju lutem më dërgoni linkun e takimit dhe agjendën."),
    ("sq", "sq", "A mund të marr pjesë pa kamerë?"),
    ("sq", "sq", "Ju lutem anuloni regjistrimin tim."),
    ("sq", "sq", "Më intereson shumë tema e digjitalizimit të shërbimeve komunale."),
    ("sq", "sq+en-title", "Punoj në Bashkinë e Tiranës dhe do të doja të merrja "
                          f'pjesë në konferencën "{TITLE}".'),
    ("sq", "sq", "A do të ketë përkthim simultan?"),
    ("sq", "sq", "Konfirmoj pjesëmarrjen e dy kolegëve nga departamenti ynë."),
    ("sq", "sq", "Të nderuar organizatorë, ne përfaqësojmë bashkinë e një "
                 "qyteti të vogël dhe aktualisht po zbatojmë shërbime "
                 "elektronike për qytetarët. Do të ishim të lumtur të ndanim "
                 "përvojën tonë. Ju lutem regjistroni mua dhe kolegun tim."),
    ("sq", "sq-ascii", "Do te marr pjese, faleminderit."),
    ("sq", "sq-ascii", "Pershendetje, a do te jene materialet ne dispozicion pas "
                       "takimit?"),
    # -------------------------------------------------------------- Macedonian
    ("mk", "mk", "Ќе учествувам."),
    ("mk", "mk", "Ви благодарам, ќе бидам присутен."),
    ("mk", "mk", "Здраво! Сакам да се пријавам за онлајн настанот на 7 октомври."),
    ("mk", "mk", "За жал, не можам да учествувам поради службено патување."),
    ("mk", "mk", "Ве молам испратете ми ја врската за состанокот и агендата."),
    ("mk", "mk", "Дали може да се учествува без камера?"),
    ("mk", "mk", "Ве молам откажете ја мојата пријава."),
    ("mk", "mk", "Многу ме интересира темата за дигитализација на општинските услуги."),
    ("mk", "mk+en-title", "Работам во Општина Битола и би сакал да учествувам "
                          f'на конференцијата "{TITLE}".'),
    ("mk", "mk", "Дали ќе има симултан превод?"),
    ("mk", "mk", "Го потврдувам учеството на двајца колеги од нашиот сектор."),
    ("mk", "mk", "Почитувани организатори, ние ја претставуваме општината на "
                 "еден мал град и моментално воведуваме електронски услуги за "
                 "граѓаните. Ќе ни биде драго да го споделиме нашето искуство. "
                 "Ве молам да го регистрирате и мојот колега."),
    ("mk", "mk", "Дали материјалите ќе бидат достапни по настанот?"),
    ("mk", "mk", "Благодарам, ја примив поканата."),
    # ---------------------------------------------------------------- Romanian
    ("ro", "ro", "Voi participa."),
    ("ro", "ro", "Mulțumesc, voi fi prezent."),
    ("ro", "ro", "Bună ziua! Aș dori să mă înscriu la evenimentul online din "
                 "7 octombrie."),
    ("ro", "ro", "Din păcate nu pot participa din cauza unei deplasări în "
                 "interes de serviciu."),
    ("ro", "ro", "Vă rog să îmi trimiteți linkul pentru întâlnire și agenda."),
    ("ro", "ro", "Se poate participa fără cameră video?"),
    ("ro", "ro", "Vă rog să anulați înscrierea mea."),
    ("ro", "ro", "Mă interesează foarte mult tema digitalizării serviciilor "
                 "municipale."),
    ("ro", "ro+en-title", "Lucrez la Primăria Cluj-Napoca și aș dori să particip "
                          f'la conferința "{TITLE}".'),
    ("ro", "ro", "Va exista traducere simultană?"),
    ("ro", "ro", "Confirm participarea a doi colegi din departamentul nostru."),
    ("ro", "ro", "Stimați organizatori, reprezentăm primăria unui oraș mic și "
                 "în prezent implementăm servicii electronice pentru cetățeni. "
                 "Am fi bucuroși să împărtășim experiența noastră. Vă rog să mă "
                 "înregistrați pe mine și pe colegul meu."),
    ("ro", "ro-ascii", "Multumesc, ma inscriu si eu."),
    ("ro", "ro-ascii", "Buna ziua, materialele vor fi disponibile dupa eveniment?"),
    # ------------------------------------------- Serbian / Bosnian / Croatian
    ("sh", "sr-Latn", "Učestvovaću."),
    ("sh", "sr-Latn", "Hvala, biću prisutan."),
    ("sh", "sr-Latn", "Poštovani, želim da se prijavim za onlajn događaj 7. oktobra."),
    ("sh", "sr-Latn", "Nažalost, neću moći da učestvujem zbog službenog puta."),
    ("sh", "sr-Latn+en-title", "Radim u Gradskoj upravi Novog Sada i želeo bih da "
                               f'učestvujem na konferenciji "{TITLE}".'),
    ("sh", "sr-Latn-ascii", "Pozdrav, zelim da se prijavim, da li cete poslati link?"),
    ("sh", "sr-Cyrl", "Учествоваћу."),
    ("sh", "sr-Cyrl", "Хвала, бићу присутна."),
    ("sh", "sr-Cyrl", "Молим вас да ми пошаљете линк за састанак и дневни ред."),
    ("sh", "sr-Cyrl", "Да ли ће бити обезбеђен симултани превод?"),
    ("sh", "sr-Cyrl", "Поштовани организатори, представљамо општину једног малог "
                      "града и тренутно уводимо електронске услуге за грађане. "
                      "Било би нам драго да поделимо своје искуство. Молим вас "
                      "да региструјете мене и мог колегу."),
    ("sh", "bs", "Hvala, bit ću prisutan."),
    ("sh", "bs", "Nažalost, ne mogu učestvovati zbog službenog putovanja."),
    ("sh", "bs", "Molim vas da otkažete moju prijavu."),
    ("sh", "bs", "Radim u Općini Centar Sarajevo i zanima me tema digitalizacije "
                 "općinskih usluga."),
    ("sh", "bs", "Da li će materijali biti dostupni nakon događaja?"),
    ("sh", "hr", "Sudjelovat ću."),
    ("sh", "hr", "Poštovani, želim se prijaviti na online događaj 7. listopada."),
    ("sh", "hr", "Molim Vas pošaljite mi poveznicu za sastanak i dnevni red."),
    ("sh", "hr", "Je li moguće sudjelovati bez kamere?"),
    ("sh", "hr", "Poštovani organizatori, predstavljamo gradsku upravu manjeg "
                 "grada i trenutačno uvodimo elektroničke usluge za građane. "
                 "Rado ćemo podijeliti svoje iskustvo. Molim Vas da registrirate "
                 "mene i moga kolegu."),
    ("sh", "hr-ascii", "Zanima me tema digitalizacije opcinskih usluga, hvala."),
]


# Mails in languages outside our list. Scored only for "not German": a
# detector restricted to our languages must force them into one of ours, and
# it must not pick German (Dutch, Danish, Swedish and Luxembourgish are close).
OTHER_SAMPLES: list[tuple[str, str]] = [
    ("nl", "Ik neem graag deel aan het webinar."),
    ("nl", "Kunt u mij de link voor de vergadering sturen?"),
    ("da", "Jeg deltager gerne, tak for invitationen."),
    ("sv", "Jag deltar gärna. Kan ni skicka länken?"),
    ("lb", "Ech wëll mech fir d'Evenement umellen."),
    ("fr", "Je participerai avec plaisir."),
    ("fr", "Pouvez-vous m'envoyer le lien de la réunion ?"),
    ("it", "Parteciperò volentieri all'evento online."),
    ("pl", "Chętnie wezmę udział w spotkaniu."),
    ("sl", "Z veseljem se bom udeležil srečanja."),
    ("sl", "Ali mi lahko pošljete povezavo do srečanja?"),
    ("bg", "Ще участвам с удоволствие."),
    ("bg", "Моля, изпратете ми линка за срещата."),
    ("tr", "Etkinliğe katılmak istiyorum."),
    ("tr", "Toplantı bağlantısını gönderebilir misiniz?"),
    ("az", "Tədbirdə iştirak etmək istəyirəm."),
    ("el", "Θα συμμετάσχω με χαρά."),
    ("hu", "Szívesen részt veszek a rendezvényen."),
]

def _check() -> None:
    seen = set()
    for group, _variety, text in SAMPLES:
        assert group in GROUPS, group
        assert text not in seen, text
        seen.add(text)
    for group in GROUPS:
        n = sum(1 for g, _, _ in SAMPLES if g == group)
        assert n >= 12, (group, n)
    for _code, text in OTHER_SAMPLES:
        assert text not in seen, text
        seen.add(text)


_check()


if __name__ == "__main__":
    from collections import Counter

    counts = Counter(g for g, _, _ in SAMPLES)
    words = [len(t.split()) for _, _, t in SAMPLES]
    print(f"{len(SAMPLES)} samples, {min(words)}-{max(words)} words, "
          f"+ {len(OTHER_SAMPLES)} in other languages")
    for group in GROUPS:
        print(f"  {group}  {GROUP_NAMES[group]:<26} {counts[group]}")

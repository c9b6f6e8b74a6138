from django.db import migrations, models


def owners_opt_out(apps, schema_editor):
    # The main account supervises: it takes chats only once it opts in (issue 13).
    User = apps.get_model("accounts", "User")
    User.objects.filter(role="owner").update(takes_new_chats=False)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_callback_ping")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="takes_new_chats",
            field=models.BooleanField(default=True, verbose_name="takes new chats"),
        ),
        migrations.RunPython(owners_opt_out, migrations.RunPython.noop),
    ]
